import { Injectable } from '@nestjs/common';
import { api } from '@pagerduty/pdjs';
import { ServiceConfig } from '../config/config.providers';

const REQUEST_TIMEOUT_MS = 5000;

/** PagerDuty answered 404: the resource does not exist (an incident id nobody opened). */
export class PagerDutyNotFound extends Error {}

/** The PagerDuty REST API through pdjs (`PAGERDUTY_API_URL`, `PAGERDUTY_API_TOKEN`): on-call and incidents. */
@Injectable()
export class PagerDutyApi {
  constructor(private readonly config: ServiceConfig) {}

  /** Why PagerDuty cannot be asked at all, or null. */
  unconfigured(): string | null {
    return this.config.env.PAGERDUTY_API_TOKEN ? null : 'PAGERDUTY_API_TOKEN is not set';
  }

  async get(resource: string, queryParameters: Record<string, string | string[]> = {}): Promise<Record<string, unknown>> {
    // pdjs: a full `url` works for any server; its requestTimeout does nothing, so abort ourselves;
    // it resolves on HTTP errors, so check the status; `resource` is null off *.com, use `data`.
    const base = this.config.env.PAGERDUTY_API_URL.replace(/\/+$/, '');
    let response;
    try {
      response = await api({
        url: `${base}/${resource}`,
        token: this.config.env.PAGERDUTY_API_TOKEN,
        queryParameters,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) as never,
      });
    } catch (failure) {
      const status = (failure as { status?: number })?.status;
      throw new Error(
        status
          ? `PagerDuty ${resource} answered HTTP ${status} with a body that is not JSON`
          : `PagerDuty ${resource} unreachable: ${(failure as Error)?.message ?? failure}`,
        { cause: failure },
      );
    }
    if (response.status === 404) throw new PagerDutyNotFound(`PagerDuty has no ${resource}`);
    if (!response.ok) throw new Error(`PagerDuty ${resource} answered HTTP ${response.status}`);
    return response.data as Record<string, unknown>;
  }

  /** The PagerDuty user with exactly this email, or null. */
  async userByEmail(email: string): Promise<{ id: string; name: string | null } | null> {
    const users = (await this.get('users', { query: email })).users as { id: string; name?: string; email?: string }[] | undefined;
    const user = users?.find((candidate) => candidate.email?.toLowerCase() === email.toLowerCase());
    return user ? { id: user.id, name: user.name ?? null } : null;
  }
}
