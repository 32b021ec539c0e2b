import { ApiProperty } from '@nestjs/swagger';
import { GRANT_ACCESS, type GrantAction } from './grant-access';

const GRANT_ACTIONS = Object.keys(GRANT_ACCESS) as GrantAction[];
const ActionList = (description: string) => ApiProperty({ type: 'array', items: { type: 'string', enum: GRANT_ACTIONS }, required: true, description });

/** What a caller may do: to every grant, and (additionally) to grants they requested. */
export class GrantAbilities {
  @ActionList('Actions the caller may take on any grant')
  anyGrant: GrantAction[];
  @ActionList('Actions the caller may take on grants they requested')
  ownGrants: GrantAction[];
}
