// The broker's answers as the CLI reads them: types generated from the OpenAPI document
// (`npm run api:contract`), so the CLI is built against what the server declares.
import type { components } from '../api-contract/openapi';

type Schemas = components['schemas'];

export type GrantCreated = Schemas['GrantCreated'];
export type GrantView = Schemas['GrantView'];
export type GrantDetail = Schemas['GrantDetail'];
export type GrantExtended = Schemas['GrantExtended'];
export type GrantPage = Schemas['GrantPage'];
export type IssuedCredential = GrantCreated['credential'];
export type KubernetesAccess = Schemas['KubernetesAccess'];
export type TargetList = Schemas['TargetList'];
export type PauseRecord = Schemas['PauseRecord'];
export type KeyRotation = Schemas['KeyRotation'];
export type SignedBundle = Schemas['SignedBundle'];
export type AuditPage = Schemas['AuditPage'];
export type ChainVerdict = Schemas['ChainVerdict'];
export type ErrorBody = Schemas['ErrorBody'];
export type ConsistencyProof = Schemas['ConsistencyProof'];
export type CliLoginConfig = Schemas['CliLoginConfig'];
export type MeView = Schemas['MeView'];
export type LinkAnswer = Schemas['LinkAnswer'];
export type ClockPage = Schemas['ClockPage'];
export type ClockView = Schemas['ClockView'];
export type DrillOverview = Schemas['DrillOverview'];
export type DrillRunView = Schemas['DrillRunView'];
