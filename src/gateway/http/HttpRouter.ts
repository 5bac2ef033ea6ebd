import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Principal, TokenService } from '../../auth/tokens.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { HttpReply, send, type ResponseState } from './HttpReply.js';
import type { HttpMethod, RouteContext, RouteHandler, RouteOptions } from '../../http/ports.js';
import { bodyOf, readBody, tooLarge, tooLargeMessage } from './readBody.js';
import { httpStatusOf } from './status.js';
import { LimitError, type RestLimits } from '../limits/RestLimits.js';

export type { HttpMethod, RouteContext, RouteHandler, RouteOptions };

interface Route {
  readonly method: HttpMethod;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
  readonly options: RouteOptions;
}

export interface HttpRouterDeps {
  readonly tokens: TokenService;
  readonly log: Logger;
  readonly maxBodyBytes: number;
  /** Per-IP and per-user rates and route quotas. @default none */
  readonly limits?: RestLimits;
  /** Clock in epoch ms. @default Date.now */
  readonly now?: () => number;
}

/**
 * A declared body up to this size is read while the token is checked, not paused for it:
 * it arrives in the first read anyway, so pausing bounds nothing, and the pause and resume
 * were two epoll_ctl calls per authenticated POST (bench:tasks creates). Larger and chunked
 * bodies are paused, so at most one read's worth arrives before the caller is known.
 */
const UNPAUSED_BODY_BYTES = 16 * 1024;

const split = (path: string): string[] => path.split('/').filter((s) => s.length > 0);

/** `Authorization: Bearer <token>` → the token. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

/**
 * A small REST router on one uWS catch-all handler: JSON in and out, bodies read with
 * a size limit, errors as `{"error": {"code", "message"}}` with a fitting status.
 */
export class HttpRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly deps: HttpRouterDeps) {}

  add(method: HttpMethod, pattern: string, handler: RouteHandler, options: RouteOptions = {}): void {
    if (options.quota) {
      if (!this.deps.limits) throw new TypeError(`route ${pattern}: quota "${options.quota}" needs the router's limits`);
      this.deps.limits.quota(options.quota); // throws for an undefined quota now, not on the first request
    }
    const segments = split(pattern);
    if (segments.slice(0, -1).includes('*')) throw new TypeError(`route ${pattern}: "*" may only be the last segment`);
    this.routes.push({ method, segments, handler, options });
  }

  /** The uWS handler. Copies everything from `req` before the first await. */
  readonly handle = (res: HttpResponse, req: HttpRequest): void => {
    const state: ResponseState = { aborted: false, done: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    const method = req.getMethod().toUpperCase() as HttpMethod;
    const path = req.getUrl();
    const query = new URLSearchParams(req.getQuery() ?? '');
    const headers: Record<string, string> = {};
    req.forEach((name, value) => {
      headers[name] = value;
    });
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();

    const found = this.match(method, path);
    if (!found.route) {
      const reply =
        found.allowed.length > 0
          ? HttpReply.error(405, ErrorCode.BAD_REQUEST, `${method} is not allowed on ${path}`, { allow: found.allowed.join(', ') })
          : HttpReply.error(404, ErrorCode.NOT_FOUND, `no route for ${method} ${path}`);
      send(res, state, reply);
      return;
    }
    const { route, params } = found;
    const ctx = { method, path, params, query, headers, ip };
    const limit = route.options.maxBodyBytes ?? this.deps.maxBodyBytes;
    const mode = route.options.auth ?? 'required';
    const token = bearerToken(headers.authorization);
    const body = bodyOf(headers);
    // Refusals that need no token check are answered here, before a byte of the body is read,
    // and close the connection so the client cannot make us receive the rest (issue 13 #7:
    // an unauthenticated 50 MB upload used to be read and buffered after its 401).
    if (mode === 'required' && !token) {
      send(res, state, unauthorized('token missing'), body.expected);
      return;
    }
    const needsVerify = mode !== 'none' && token !== null;
    if (mode !== 'none' && this.deps.limits) {
      try {
        this.deps.limits.checkIp(ip, this.now());
      } catch (err) {
        send(res, state, limitReply(err as LimitError), body.expected);
        return;
      }
    }
    if (body.declared !== null && body.declared > limit) {
      if (!needsVerify) {
        send(res, state, HttpReply.error(413, ErrorCode.PAYLOAD_TOO_LARGE, tooLargeMessage(limit)), true);
        return;
      }
      // A caller with a token learns 401 or 413 (in that order) without the body being read.
      pause(res, state);
      const refused = Promise.reject(tooLarge(limit));
      refused.catch(() => {}); // observed in run() after the token check
      void this.run(res, state, route, ctx, token, refused);
      return;
    }
    // onData must be attached now (chunks before it are lost); the socket is paused while the
    // token is checked (unless the body is small), so at most one read's worth arrives before
    // the caller is known.
    const bytes = body.expected ? readBody(res, state, headers, limit) : Promise.resolve(Buffer.alloc(0));
    bytes.catch(() => {}); // observed in run(); avoids an unhandled rejection if auth fails first
    if (needsVerify && body.expected && !(body.declared !== null && body.declared <= UNPAUSED_BODY_BYTES)) pause(res, state);
    void this.run(res, state, route, ctx, needsVerify ? token : null, bytes);
  };

  private async run(
    res: HttpResponse,
    state: ResponseState,
    route: Route,
    req: Omit<RouteContext, 'principal' | 'body'>,
    token: string | null,
    bodyPromise: Promise<Buffer>,
  ): Promise<void> {
    let closeConnection = false;
    try {
      const principal = await this.authenticate(token, route.options.auth ?? 'required');
      // Limits are spent while the body is still paused: a refused upload is never read.
      const quota = principal ? this.spendLimits(route, principal, req.headers) : null;
      let bytes: Buffer;
      try {
        resume(res, state);
        bytes = await bodyPromise;
      } catch (err) {
        closeConnection = true; // the rest of an oversized body is not read
        throw err;
      }
      if (quota?.undeclared) this.deps.limits!.quota(quota.name).addBytes(principal!.userId, bytes.length);
      const body = route.options.rawBody ? bytes : parseJson(bytes);
      const result = await route.handler({ ...req, principal, body });
      send(res, state, result instanceof HttpReply ? result : HttpReply.json(200, result));
    } catch (err) {
      if (!(err instanceof SwitchyardError)) {
        this.deps.log.error({ method: req.method, path: req.path, err: errorMessage(err) }, 'route handler failed');
      }
      const status = err instanceof SwitchyardError ? httpStatusOf(err.code) : 500;
      const { code, message } =
        err instanceof SwitchyardError ? err : { code: ErrorCode.INTERNAL, message: 'internal error' };
      const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
      if (err instanceof LimitError) extra['retry-after'] = String(err.retryAfterSec);
      // A body still paused (refused before reading it) is never read: close instead.
      send(res, state, HttpReply.error(status, code, message, extra), closeConnection || state.paused === true);
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * The caller's rate (admins — the chat backend streaming through `POST /api/events` — are
   * exempt), then the route's quota by declared Content-Length (a body without one is counted
   * once read; one over the route's size limit is refused with 413 and spends nothing).
   */
  private spendLimits(route: Route, principal: Principal, headers: Readonly<Record<string, string>>): { name: string; undeclared: boolean } | null {
    const limits = this.deps.limits;
    if (!limits) return null;
    const now = this.now();
    if (principal.role !== 'admin') limits.checkUser(principal.userId, now);
    const name = route.options.quota;
    if (!name) return null;
    const declared = headers['content-length'] === undefined ? null : Number(headers['content-length']);
    const bytes = declared !== null && Number.isFinite(declared) ? declared : 0;
    if (bytes > (route.options.maxBodyBytes ?? this.deps.maxBodyBytes)) return null;
    limits.takeQuota(name, principal.userId, bytes, now);
    return { name, undeclared: declared === null };
  }

  /** `token` is null when there is nothing to verify (auth 'none', or 'optional' without one). */
  private async authenticate(token: string | null, mode: 'required' | 'optional' | 'none'): Promise<Principal | null> {
    if (mode === 'none' || token === null) return null;
    const result = await this.deps.tokens.verify(token);
    if (result.ok) return result.principal;
    throw new SwitchyardError(ErrorCode.UNAUTHORIZED, `token ${result.reason}`);
  }

  private match(
    method: HttpMethod,
    path: string,
  ): { route: Route; params: Record<string, string>; allowed?: never } | { route?: never; allowed: HttpMethod[] } {
    const parts = split(path);
    const allowed: HttpMethod[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    return { allowed };
  }
}

function limitReply(err: LimitError): HttpReply {
  return HttpReply.error(httpStatusOf(err.code), err.code, err.message, { 'retry-after': String(err.retryAfterSec) });
}

function unauthorized(message: string): HttpReply {
  return HttpReply.error(401, ErrorCode.UNAUTHORIZED, message, { 'www-authenticate': 'Bearer' });
}

function pause(res: HttpResponse, state: ResponseState): void {
  res.pause();
  state.paused = true;
}

function resume(res: HttpResponse, state: ResponseState): void {
  if (!state.paused || state.aborted) return;
  state.paused = false;
  res.resume();
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    if (seg === '*') {
      params['*'] = parts.slice(i).map(decode).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (seg.startsWith(':')) params[seg.slice(1)] = decode(part);
    else if (seg !== part) return null;
  }
  return parts.length === pattern.length ? params : null;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SwitchyardError(ErrorCode.INVALID_JSON, 'request body is not valid JSON');
  }
}
