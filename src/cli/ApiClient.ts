import { errorMessage } from '../errors.js';

/** A CLI failure with a message for the operator and the process exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ApiReply<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** `{"error": {"code", "message"}}` → `CODE: message`, else the HTTP status. */
export function describeError(reply: ApiReply): string {
  const e = (reply.body as { error?: { code?: string; message?: string } } | null)?.error;
  return e?.code ? `${e.code}: ${e.message ?? ''}` : `HTTP ${reply.status}`;
}

/** Where the server is and who we are: flags, then SWITCHYARD_URL / SWITCHYARD_TOKEN. */
export function resolveEndpoint(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv): { url: string; token: string } {
  const url = (flags.url ?? env.SWITCHYARD_URL ?? `http://127.0.0.1:${env.PORT ?? 8080}`).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url)) throw new CliError(`--url must start with http:// or https://, got ${JSON.stringify(url)}`, 2);
  const token = flags.token ?? env.SWITCHYARD_TOKEN;
  if (!token) {
    throw new CliError('a token is required: pass --token or set SWITCHYARD_TOKEN (mint one with `switchyard token --sub <you> --role admin`)', 2);
  }
  return { url, token };
}

/** A small JSON client for the REST API; never prints the token. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async request<T = unknown>(method: string, path: string, init: { body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<ApiReply<T>> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        body: init.body,
        headers: { authorization: `Bearer ${this.token}`, ...init.headers },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new NetworkError(`cannot reach ${this.baseUrl}: ${cause ?? errorMessage(err)}`);
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the message
    }
    return { status: res.status, body: body as T };
  }
}

/** The server could not be reached (retryable). */
export class NetworkError extends CliError {}
