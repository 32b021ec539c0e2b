import { Matches } from 'class-validator';

/** `BG-<year>-<sequence>`, the sequence zero-padded to at least six digits. */
export const GRANT_ID = /^BG-\d{4}-\d{6,}$/;

/** The `:id` route parameter of every grant-scoped endpoint. */
export class GrantIdParam {
  @Matches(GRANT_ID, { message: 'id must be a grant id such as BG-2026-000042' })
  id: string;
}
