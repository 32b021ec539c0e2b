// The dashboard's only way to the service: the public v1 API with the signed-in bearer token.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  text(path: string): Promise<string>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** Fetches with the token and saves the answer as a file (downloads cannot carry a header otherwise). */
  download(path: string, filename: string): Promise<void>;
}

export function createApi(token: string, onUnauthorized: () => void): Api {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.ok) return response;
    const problem = (await response.json().catch(() => ({}))) as { error?: string; message?: string; details?: unknown };
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, problem.error ?? 'http_error', problem.message ?? `${response.status} ${response.statusText}`, problem.details);
  };
  return {
    get: async (path) => (await call('GET', path)).json(),
    text: async (path) => (await call('GET', path)).text(),
    post: async (path, body) => (await call('POST', path, body ?? {})).json(),
    download: async (path, filename) => saveFile(await (await call('GET', path)).blob(), filename),
  };
}

/** Hands `blob` to the browser as a file download. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Every item of a paged list: follows `next` (passed back as `after`) until there is none, so no
 * list the dashboard shows or counts stops silently at one page.
 */
export async function allPages<P extends { next: string | number | null }, T>(api: Api, path: string, items: (page: P) => T[]): Promise<T[]> {
  const all: T[] = [];
  let after: string | number | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: P = await api.get<P>(after === null ? path : `${path}${separator}after=${encodeURIComponent(after)}`);
    all.push(...items(page));
    after = page.next;
  } while (after !== null);
  return all;
}

export async function publicJson<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error ?? 'http_error', body.message ?? response.statusText, body.details);
  return body as T;
}
