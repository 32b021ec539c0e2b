// The API's answers, as generated from its OpenAPI document (`npm run api:contract` writes
// src/api-contract/openapi.ts from the server's response DTOs): a field renamed on the server
// breaks this build instead of a page.
import type { components } from '../../src/api-contract/openapi';

type Schemas = components['schemas'];

export type Me = Schemas['MeView'];
export type GrantAction = Me['grantAccess']['anyGrant'][number];
export type Grant = Schemas['GrantDetail'];
export type GrantSummary = Schemas['GrantView'];
export type Clock = Schemas['ClockView'];
export type Verdict = Schemas['ChainVerdict'];
/** A session record as `GET /v1/grants/:id/events` returns it (docs/formats.md). */
export type SessionRecord = Schemas['SessionEvent'];
export type Review = Schemas['ReviewRecord'];
export type Notification = Schemas['NotificationView'];
export type PrLink = Schemas['PrLink'];
export type GrantPage = Schemas['GrantPage'];
export type GrantExtended = Schemas['GrantExtended'];
export type LinkAnswer = Schemas['LinkAnswer'];
export type ClockPage = Schemas['ClockPage'];
export type SessionPage = Schemas['SessionPage'];
export type ErrorBody = Schemas['ErrorBody'];
export type DevToken = Schemas['DevToken'];
export type PullRequestLinks = Schemas['PullRequestLinks'];
export type GrantNotifications = Schemas['GrantNotifications'];
export type ReviewList = Schemas['ReviewList'];
export type ReviewRecorded = Schemas['ReviewRecorded'];
export type BrokerRole = Me['roles'][number];
export type AnchorStatusList = Schemas['AnchorStatusList'];
export type DrillOverview = Schemas['DrillOverview'];
