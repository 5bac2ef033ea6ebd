import type { Coordination } from '../coordination/ports.js';
import { errorMessage } from '../errors.js';
import { withDeadline } from '../util/deadline.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { HttpReply } from './http/HttpReply.js';
import type { HttpRouter } from './http/HttpRouter.js';

export interface SystemRoutesContext {
  /** Reported by `/healthz`, so one can tell which instance behind a shared port answered. */
  readonly instanceId: string;
  readonly coordination: Coordination;
  readonly registry: Registry;
  readonly log: Logger;
  /** Named checks, each true when that backend answers. */
  readonly readiness: () => Promise<Record<string, boolean>>;
  /** False once the gateway stopped accepting (shutdown): the instance is no longer ready. */
  readonly accepting: () => boolean;
}

/** `/healthz`, `/readyz`, `/metrics` (no auth). `/api/usage` is presence's. */
export function registerSystemRoutes(router: HttpRouter, ctx: SystemRoutesContext): void {
  router.add('GET', '/healthz', () => ({ status: 'ok', instance: ctx.instanceId }), { auth: 'none' });

  router.add(
    'GET',
    '/readyz',
    async () => {
      let checks: Record<string, boolean>;
      try {
        checks = { ...(await ctx.readiness()), accepting: ctx.accepting() };
      } catch (err) {
        ctx.log.warn({ err: errorMessage(err) }, 'readiness check failed');
        checks = { readiness: false, accepting: ctx.accepting() };
      }
      const ready = Object.values(checks).every(Boolean);
      return HttpReply.json(ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks });
    },
    { auth: 'none' },
  );

  router.add(
    'GET',
    '/metrics',
    async () => HttpReply.text(200, await ctx.registry.metrics(), ctx.registry.contentType),
    { auth: 'none' },
  );
}

/** The default readiness: the coordination backend answers a ping within `timeoutMs`. */
export function coordinationReadiness(coordination: Coordination, timeoutMs = 2_000): () => Promise<Record<string, boolean>> {
  return async () => ({ coordination: await withDeadline(coordination.ping(), timeoutMs).catch(() => false) });
}
