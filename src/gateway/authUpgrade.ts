import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { UpgradeRequest } from '../http/ports.js';
import type { Principal, TokenService } from '../auth/tokens.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { HttpReply, send, type ResponseState } from './http/HttpReply.js';
import { bearerToken } from './http/HttpRouter.js';
import { httpStatusOf } from './http/status.js';

/** What an authenticated upgrade knows about the request, copied before any await. */
export type { UpgradeRequest };

export interface AuthUpgradeOptions<UserData> {
  readonly tokens: TokenService;
  readonly log: Logger;
  /** Checked before the token: null to go on, or the refusal (e.g. 429 over the per-IP rate, 503 shutting down). */
  readonly admit: (ip: string) => { readonly reply: HttpReply; readonly reason: string } | null;
  /** Builds the socket's user data once the token is valid; may throw a SwitchyardError (→ its status). */
  readonly userData: (req: UpgradeRequest) => UserData;
  /** Counts refusals by reason (`unauthorized`, `rate_limited`, …). */
  readonly onReject?: (reason: string) => void;
}

/**
 * A uWS `upgrade` handler that verifies the token (Authorization: Bearer, or
 * `?token=` for browsers) before the socket exists: a missing, expired or invalid
 * token gets HTTP 401 with a JSON error body and no WebSocket. Done the way uWS
 * requires for an async upgrade: `onAborted` first, every header copied before the
 * await, the upgrade itself inside `cork`. Shared by every socket route (`/ws`, `/doc/*`).
 */
export function authUpgrade<UserData>(options: AuthUpgradeOptions<UserData>) {
  return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    const state: ResponseState = { aborted: false, done: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    const url = req.getUrl();
    const query = new URLSearchParams(req.getQuery() ?? '');
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const token = bearerToken(req.getHeader('authorization')) ?? query.get('token');
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();

    const refusal = options.admit(ip);
    if (refusal) {
      options.onReject?.(refusal.reason);
      send(res, state, refusal.reply, true);
      return;
    }

    options.tokens.verify(token).then(
      (result) => {
        if (state.aborted) return;
        if (!result.ok) {
          options.onReject?.('unauthorized');
          options.log.debug({ ip, url, reason: result.reason }, 'upgrade refused: token');
          send(
            res,
            state,
            HttpReply.error(401, ErrorCode.UNAUTHORIZED, `token ${result.reason}`, { 'www-authenticate': 'Bearer' }),
            true,
          );
          return;
        }
        let userData: UserData;
        try {
          userData = options.userData({ principal: result.principal, ip, url, query });
        } catch (err) {
          options.onReject?.('refused');
          const reply =
            err instanceof SwitchyardError
              ? HttpReply.error(httpStatusOf(err.code), err.code, err.message)
              : HttpReply.error(500, ErrorCode.INTERNAL, 'internal error');
          if (!(err instanceof SwitchyardError)) options.log.error({ ip, url, err: errorMessage(err) }, 'upgrade failed');
          send(res, state, reply, true);
          return;
        }
        state.done = true;
        res.cork(() => {
          res.upgrade(userData, key, protocol, extensions, context);
        });
      },
      (err: unknown) => {
        options.log.error({ ip, url, err: errorMessage(err) }, 'token verification failed');
        send(res, state, HttpReply.error(500, ErrorCode.INTERNAL, 'internal error'), true);
      },
    );
  };
}
