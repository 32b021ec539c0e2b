import type { AppConfig } from './env';
import type { Policy } from './policy';

// Class tokens for the configuration objects made before Nest starts (typed injection without
// string tokens). The interface merges give each token the object's type.

/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging -- the merge is the point: a class token typed as the object */
export abstract class ServiceConfig {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ServiceConfig extends AppConfig {}

export abstract class LoadedPolicy {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LoadedPolicy extends Policy {}
/* eslint-enable @typescript-eslint/no-unsafe-declaration-merging */
