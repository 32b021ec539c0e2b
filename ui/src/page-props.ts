import type { Api } from './api';
import type { Me } from './auth';

/** What every page gets: the API client and the signed-in caller. */
export interface PageProps {
  api: Api;
  me: Me;
}
