import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Behavior } from '../actors/types.js';
import type { CleanupMessage, UsageCleanup } from './UsageCleanup.js';
import type { HeartbeatMessage, InstanceHeartbeat } from './InstanceHeartbeat.js';

/** Actor kinds of the supervision tree: the root and its long-lived children. */
export const SupervisorKinds = {
  ROOT: 'supervisor',
  CLEANUP: 'presence.cleanup',
  HEARTBEAT: 'presence.heartbeat',
} as const;

const ROOT_KEY = 'root';
const CHILD_KEY = 'main';

type RootMessage = { readonly type: 'start' } | { readonly type: 'child-escalated'; readonly kind: string };

export interface SupervisorOptions {
  /** How long an escalated child stays down before the root starts it again, ms. */
  readonly revivalDelayMs: number;
}

/**
 * Registers the supervision tree: a root actor whose children are the usage
 * cleanup and the instance heartbeat. Children restart themselves on crashes
 * (backoff + jitter, the actor system's job); when one crashes too often and
 * escalates, the root starts it again after `revivalDelayMs` — so the cleanup
 * never dies for good, whatever Redis or the lock does.
 */
export function registerSupervisor(
  system: ActorSystem,
  makeCleanup: () => UsageCleanup,
  makeHeartbeat: () => InstanceHeartbeat,
  options: SupervisorOptions,
): { start(): void } {
  const forever = { idleTimeoutMs: 0 };
  system.register<CleanupMessage, void>(
    SupervisorKinds.CLEANUP,
    () => {
      const cleanup = makeCleanup();
      return {
        onStart: (ctx) => cleanup.start(ctx),
        receive: (_msg, ctx) => cleanup.tick(ctx),
        onStop: () => cleanup.stop(),
      } satisfies Behavior<CleanupMessage, void>;
    },
    forever,
  );
  system.register<HeartbeatMessage, void>(
    SupervisorKinds.HEARTBEAT,
    () => {
      const heartbeat = makeHeartbeat();
      return {
        onStart: (ctx) => heartbeat.start(ctx),
        receive: (_msg, ctx) => heartbeat.beat(ctx),
        onStop: (_ctx, reason) => (reason === 'shutdown' ? heartbeat.stop() : undefined),
      } satisfies Behavior<HeartbeatMessage, void>;
    },
    forever,
  );
  system.register<RootMessage, void>(
    SupervisorKinds.ROOT,
    () => ({
      receive(msg, ctx) {
        if (msg.type === 'start') {
          ctx.spawnChild(SupervisorKinds.HEARTBEAT, CHILD_KEY);
          ctx.spawnChild(SupervisorKinds.CLEANUP, CHILD_KEY);
          return;
        }
        ctx.log.error({ child: msg.kind, revivalDelayMs: options.revivalDelayMs }, 'child escalated; starting it again after a pause');
        ctx.schedule(options.revivalDelayMs, { type: 'start' });
      },
    }),
    forever,
  );
  system.escalations.subscribe((e) => {
    const kind = e.ref.split(':')[0]!;
    if (kind === SupervisorKinds.CLEANUP || kind === SupervisorKinds.HEARTBEAT) {
      system.tell(SupervisorKinds.ROOT, ROOT_KEY, { type: 'child-escalated', kind });
    }
  });
  return { start: () => system.tell(SupervisorKinds.ROOT, ROOT_KEY, { type: 'start' }) };
}
