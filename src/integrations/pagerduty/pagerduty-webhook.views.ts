import { Bool, ListOf, OneOf, Text } from '../../common/api-schema';

export class IncidentResolvedGrant {
  @Text()
  id: string;
  @OneOf(['notify', 'shorten', 'revoke'])
  action: 'notify' | 'shorten' | 'revoke';
}

export class PagerDutyWebhookAnswer {
  @ListOf(() => IncidentResolvedGrant, { description: 'The active grants of the resolved incident and what was done to each' })
  grants: IncidentResolvedGrant[];
  @Bool({ optional: true, description: 'The event id was delivered before: nothing was done again' })
  duplicate?: true;
  @Text({ optional: true, description: 'An event type other than incident.resolved, acknowledged and ignored' })
  ignored?: string;
}
