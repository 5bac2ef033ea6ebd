/**
 * What a route handler may return to control the status, headers or content type.
 * Any other return value is sent as `200` JSON.
 */
export class HttpReply {
  private constructor(
    readonly status: number,
    readonly body: string | Uint8Array,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  static json(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
    return new HttpReply(status, JSON.stringify(value ?? null), { 'content-type': 'application/json; charset=utf-8', ...headers });
  }

  static text(status: number, text: string, contentType = 'text/plain; charset=utf-8'): HttpReply {
    return new HttpReply(status, text, { 'content-type': contentType });
  }

  static error(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpReply {
    return HttpReply.json(status, { error: { code, message } }, headers);
  }
}
