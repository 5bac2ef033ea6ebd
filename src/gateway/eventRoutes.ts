import { ErrorCode, SwitchyardError } from '../errors.js';
import type { HttpRouter } from './http/HttpRouter.js';
import { asObject, requireString } from './protocol.js';
import type { RoomHub } from './RoomHub.js';
import { parseRoom } from './RoomPolicy.js';

/**
 * `POST /api/events` (admin) `{room, event, data}`: lets a chat backend stream to any
 * room on every instance, both dialects (SPEC §4.5) — the original system's `sio.emit`.
 */
export function registerEventRoutes(router: HttpRouter, deps: { readonly rooms: RoomHub }): void {
  router.add('POST', '/api/events', async ({ principal, body }) => {
    if (principal!.role !== 'admin') throw new SwitchyardError(ErrorCode.FORBIDDEN, 'POST /api/events needs the admin role');
    const input = asObject(body, 'POST /api/events');
    const room = requireString(input, 'room', 'POST /api/events', 256);
    if (!parseRoom(room)) throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'POST /api/events: "room" must be user:<id>, chat:<id>, channel:<id> or note:<id>');
    const event = requireString(input, 'event', 'POST /api/events', 128);
    await deps.rooms.emit(room, event, input.data ?? null);
    return { room, event };
  });
}
