import { Transform } from 'class-transformer';
import { Matches } from 'class-validator';

/** `BG-<year>-<sequence>`, the sequence zero-padded to at least six digits. */
export const GRANT_ID = /^BG-\d{4}-\d{6,}$/;

/** Grant ids are read without regard to case (`bg-2026-000042` is BG-2026-000042): people type them. */
export const CanonicalGrantId = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value));

/** The `:id` route parameter of every grant-scoped endpoint. */
export class GrantIdParam {
  @CanonicalGrantId()
  @Matches(GRANT_ID, { message: 'id must be a grant id such as BG-2026-000042' })
  id: string;
}
