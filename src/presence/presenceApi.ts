import { validateModelName } from '../coordination/modelName.js';
import type { Coordination } from '../coordination/ports.js';
import type { SocketEventContext, WebHost } from '../http/ports.js';
import { asObject, requireString } from '../http/payload.js';

/** Event names of SPEC §4.2 that presence answers (both dialects). */
export const PresenceEvent = {
  HEARTBEAT: 'heartbeat',
  USAGE: 'usage',
} as const;

export interface PresenceApiContext {
  readonly instanceId: string;
  readonly coordination: Pick<Coordination, 'sessions' | 'usage'>;
  readonly now: () => number;
}

/**
 * Presence on the web host: `heartbeat` refreshes the socket's session, `usage` marks a
 * model in use by it, `GET /api/usage` reads the cluster-wide pools. Model names are
 * validated here, at the edge, once, with the rule both backends share. Writes check
 * `isOpen` right before they are issued: a handler finishing after the disconnect must
 * not re-create the session or usage entries the close just removed.
 */
export function attachPresenceApi(web: WebHost, ctx: PresenceApiContext): void {
  const { sessions, usage } = ctx.coordination;

  /** Puts the session back when a sweep dropped it while the socket stayed open. */
  const restore = async (s: SocketEventContext, touched: Promise<boolean>, now: number): Promise<void> => {
    if ((await touched) || !s.isOpen) return;
    const { userId, name, role } = s.principal;
    await sessions.upsert({ sid: s.sid, userId, name, role, instanceId: ctx.instanceId, connectedAt: s.connectedAt, lastSeenAt: now });
  };

  /** Refreshes the session; a touch the pool answers at once (it was written within the last second) costs no promise. */
  const touch = (s: SocketEventContext): void => {
    const now = ctx.now();
    const touched = sessions.touch(s.sid, now);
    if (touched !== true) s.background(restore(s, touched, now), 'session touch');
  };

  // Acked at once (synchronous, inside uWS' callback), the touch after it: no Redis round trip on the ack path (issue 14).
  web.onEvent(PresenceEvent.HEARTBEAT, (s) => {
    if (s.isOpen) touch(s);
    return {};
  });

  web.onEvent(PresenceEvent.USAGE, async (s) => {
    const model = validateModelName(requireString(asObject(s.data, PresenceEvent.USAGE), 'model', PresenceEvent.USAGE));
    if (!s.isOpen) return {};
    // The touch is batched over a window (Redis): the ack waits for the mark only.
    touch(s);
    await usage.mark(model, s.sid, ctx.now());
    return {};
  });

  // Cluster-wide: the pools are the shared coordination backend, not this instance's memory.
  web.route('GET', '/api/usage', async () => {
    const [models, userCount] = await Promise.all([usage.models(), sessions.userCount()]);
    return { model_ids: models, user_count: userCount };
  });
}
