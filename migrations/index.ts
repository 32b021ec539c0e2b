import { AuditLog1764000000000 } from './1764000000000-AuditLog';

/** Every migration, in order. New migrations are appended here (and reviewed by hand). */
export const MIGRATIONS = [AuditLog1764000000000];
