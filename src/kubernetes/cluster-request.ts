/** One API request a cluster's audit log reported (a ResponseComplete or Panic event), as P2.3 records it. */
export interface ClusterRequest {
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  username: string;
  /** `user.extra["breakglass.io/grant"][0]`: the grant claim the cluster mapped from the token. */
  grantClaim: string | null;
  sourceIP: string | null;
  userAgent: string | null;
  /** requestReceivedTimestamp and stageTimestamp, as `Date#toISOString()`. */
  receivedAt: string;
  finishedAt: string;
  /** responseStatus.code (null when the event has none, e.g. a Panic). */
  code: number | null;
  resource: string | null;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  apiGroup: string | null;
}
