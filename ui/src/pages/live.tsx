import { allPages, type Api } from '../api';
import { mayOnGrant } from '../auth';
import { IncidentLabel } from '../components/incident';
import { InlineAction } from '../components/inline-action';
import { Problem, Table } from '../components/layout';
import type { PageProps } from '../page-props';
import type { GrantPage, GrantSummary } from '../types';
import { timeLeft, useNow, useResource } from '../util';

export const canRevoke = (me: PageProps['me'], grant: GrantSummary) => grant.status === 'active' && mayOnGrant(me, grant, 'grant.revoke');

export function LivePage({ api, me }: PageProps) {
  const now = useNow();
  const grants = useResource(() => allPages(api, '/v1/grants?status=active&limit=1000', (page: GrantPage) => page.grants), [], 2000);
  const active = (grants.data ?? []).sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
  return (
    <>
      <h1>Live: active grants</h1>
      <p class="muted" aria-live="polite">
        {grants.data ? `${active.length} active grant(s); refreshed every 2 s.` : 'Loading…'}
      </p>
      <Problem error={grants.error} />
      <Table
        caption="Active grants"
        head={['Grant', 'Requester', 'Target', 'Incident', 'Time left', '']}
        empty="No active grants: nobody has broken the glass."
        rows={active.map((g) => [
          <a href={`#/grants/${g.id}`}>{g.id}</a>,
          g.requester,
          `${g.target} (${g.environment})`,
          <IncidentLabel grant={g} />,
          <span class="countdown" data-grant={g.id}>
            {timeLeft(g.expiresAt, now)}
          </span>,
          canRevoke(me, g) ? <RevokeButton api={api} grant={g} onDone={grants.reload} /> : null,
        ])}
      />
    </>
  );
}

export function RevokeButton({ api, grant, onDone }: { api: Api; grant: GrantSummary; onDone: () => void }) {
  return (
    <InlineAction
      open="Revoke"
      openAria={`Revoke ${grant.id}`}
      submitLabel="Revoke now"
      danger
      fields={[{ name: 'reason', label: `Reason for revoking ${grant.id}`, minLength: 3 }]}
      submit={async ({ reason }) => {
        await api.post(`/v1/grants/${grant.id}/revoke`, { reason });
        onDone();
      }}
    />
  );
}
