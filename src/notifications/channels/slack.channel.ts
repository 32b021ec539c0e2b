import { Injectable } from '@nestjs/common';
import { LogLevel, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { ServiceConfig } from '../../config/config.providers';
import type { ChannelPolicy } from '../../config/policy';
import type { NoticeMessage } from '../notice';
import { NotificationsRepository } from '../notifications.repository';
import { Channel, DELIVERY_TIMEOUT_MS, failure, type DeliveryContext, type DeliveryOutcome } from './channel';
import { chatFacts } from './chat-facts';

type SlackPolicy = Extract<ChannelPolicy, { type: 'slack' }>;

/** How long a later notice waits in-process for the grant's first message to open the thread. */
const THREAD_WAIT_MS = 3000;
const THREAD_POLL_MS = 100;

/**
 * Slack `chat.postMessage` through @slack/web-api, with Block Kit. The first message of a grant in a
 * channel (glass broken) opens a thread; every later notice of the grant goes into it (`thread_ts`).
 * The client does not retry or queue on its own: the outbox does, recording each attempt, and a 429
 * waits for Slack's Retry-After.
 */
@Injectable()
export class SlackChannel extends Channel<SlackPolicy> {
  readonly type = 'slack' as const;
  private readonly clients = new Map<string, WebClient>();

  constructor(
    private readonly config: ServiceConfig,
    private readonly repository: NotificationsRepository,
  ) {
    super();
  }

  async deliver(message: NoticeMessage, policy: SlackPolicy, _notificationId: string, context: DeliveryContext): Promise<DeliveryOutcome> {
    const thread = await this.threadOf(context);
    if (thread === 'waiting') {
      return { outcome: 'failed', error: "waiting for the grant's first notice to open its Slack thread", retryAfterMs: THREAD_WAIT_MS };
    }
    try {
      const result = await this.client(policy.token).chat.postMessage({
        channel: thread?.slackChannel ?? policy.channel,
        text: message.summary,
        blocks: slackBlocks(message),
        unfurl_links: false,
        ...(thread ? { thread_ts: thread.ts } : {}),
      });
      if (context.grantId && !thread && result.channel && result.ts)
        await this.repository.startSlackThread(context.grantId, context.channel, result.channel, result.ts);
      return { outcome: 'delivered', response: { ok: result.ok, channel: result.channel, ts: result.ts, threadTs: thread?.ts ?? null } };
    } catch (error) {
      if (error instanceof WebAPIRateLimitedError) {
        return {
          outcome: 'failed',
          error: `Slack rate limit: retry after ${error.retryAfter} s`,
          retryAfterMs: error.retryAfter * 1000,
          response: { status: 429, retryAfter: error.retryAfter },
        };
      }
      if (error instanceof WebAPIPlatformError)
        return { outcome: 'failed', error: `Slack answered ok: false, ${error.data.error}`, response: { ok: false, error: error.data.error } };
      return failure(error);
    }
  }

  /** The grant's thread in this channel; undefined when this notice opens it; `waiting` while an earlier one should. */
  private async threadOf(context: DeliveryContext): Promise<{ slackChannel: string; ts: string } | undefined | 'waiting'> {
    if (!context.grantId) return undefined;
    const ask = {
      grantId: context.grantId,
      channel: context.channel,
      createdAt: context.createdAt,
      notice: context.notice,
      notificationId: context.notificationId,
    };
    for (const deadline = Date.now() + THREAD_WAIT_MS; ;) {
      const thread = await this.repository.slackThread(context.grantId, context.channel);
      if (thread) return thread;
      if (!(await this.repository.earlierPending(ask))) return undefined;
      if (Date.now() >= deadline) return 'waiting';
      await new Promise((resolve) => setTimeout(resolve, THREAD_POLL_MS));
    }
  }

  private client(token: string): WebClient {
    let client = this.clients.get(token);
    if (!client) {
      client = new WebClient(token, {
        slackApiUrl: this.config.env.SLACK_API_URL,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: DELIVERY_TIMEOUT_MS,
        logLevel: LogLevel.ERROR,
      });
      this.clients.set(token, client);
    }
    return client;
  }
}

/** Block Kit: the headline, the facts as fields (Slack shows at most 10), the dashboard link. */
function slackBlocks(message: NoticeMessage) {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    { type: 'header', text: { type: 'plain_text', text: message.subject.replace(/^\[breakglass\] /, '').slice(0, 150), emoji: false } },
    {
      type: 'section',
      fields: chatFacts(message)
        .slice(0, 10)
        .map((fact) => ({ type: 'mrkdwn', text: `*${escape(fact.title)}*\n${escape(fact.value).slice(0, 1900)}` })),
    },
    ...(message.links.length
      ? [
          {
            type: 'actions',
            elements: message.links.slice(0, 5).map((link) => ({ type: 'button', text: { type: 'plain_text', text: link.text.slice(0, 75) }, url: link.href })),
          },
        ]
      : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'Sent by breakglass. Every break-glass is recorded in a hash-chained audit log.' }] },
  ];
}
