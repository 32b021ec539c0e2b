// A small HTTP client for the v1 API used by the CLI commands that talk to a running broker.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The error answer's `details`, when it has them. */
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
}

export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  async get<T>(pathAndQuery: string): Promise<T> {
    return this.request<T>('GET', pathAndQuery);
  }

  /** A text answer (a checkpoint note, the log key). */
  async getText(pathAndQuery: string): Promise<string> {
    return this.request<string>('GET', pathAndQuery, undefined, 'text');
  }

  async post<T>(pathAndQuery: string, body: unknown): Promise<T> {
    return this.request<T>('POST', pathAndQuery, body);
  }

  private async request<T>(method: string, pathAndQuery: string, body?: unknown, answer: 'json' | 'text' = 'json'): Promise<T> {
    const url = new URL(pathAndQuery, this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: answer === 'json' ? 'application/json' : 'text/plain',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30000),
      });
    } catch (error) {
      throw new ApiError(0, 'unreachable', `Cannot reach the broker at ${this.options.baseUrl}: ${(error as Error).cause ?? (error as Error).message}`);
    }
    const text = await response.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const problem = parsed as { error?: string; message?: string; details?: unknown } | undefined;
      throw new ApiError(response.status, problem?.error ?? `http_${response.status}`, problem?.message ?? text.slice(0, 500), problem?.details);
    }
    return (answer === 'text' ? text : parsed) as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}
