import { Module } from '@nestjs/common';
import { PagerDutyIncidents } from './incidents';
import { PagerDutyOnCall } from './on-call';
import { PagerDutyApi } from './pagerduty-api';

/** The PagerDuty REST API as breakglass asks it: who is on call, and what an incident is (pdjs). */
@Module({
  providers: [PagerDutyApi, PagerDutyOnCall, PagerDutyIncidents],
  exports: [PagerDutyOnCall, PagerDutyIncidents],
})
export class PagerDutyModule {}
