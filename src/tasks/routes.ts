import type { Principal } from '../auth/tokens.js';
import type { TaskRecord } from '../coordination/ports.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { HttpReply } from '../http/HttpReply.js';
import type { RouteContext, RouteTarget } from '../http/ports.js';
import { TaskQuotaError } from './errors.js';
import type { TaskManager } from './TaskManager.js';

/** The part of a REST request the task routes read. */
type TaskRouteContext = Pick<RouteContext, 'params' | 'principal' | 'body'>;

/**
 * May `principal` start tasks on `itemId` and see and stop their own tasks of it? An
 * admin may do anything. Tasks belong to their owner, so the default lets every
 * signed-in user use any item: another user's tasks on the same item are invisible
 * and untouchable to them (there is nothing to squat). Pass a policy backed by real
 * chat ownership when there is one.
 */
export type AuthorizeItem = (principal: Principal, itemId: string) => Promise<boolean>;

export const anyItem: AuthorizeItem = async () => true;

const MAX_ID_LENGTH = 256;
const chatItem = (chatId: string) => `chat:${chatId}`;

function caller(ctx: TaskRouteContext): Principal {
  if (!ctx.principal) throw new SwitchyardError(ErrorCode.UNAUTHORIZED, 'sign in first');
  return ctx.principal;
}

/** Whose tasks an item route acts on: the caller's own; an admin's, everyone's. */
const ownerScope = (principal: Principal): string | undefined => (principal.role === 'admin' ? undefined : principal.userId);

function canTouch(principal: Principal, record: TaskRecord): boolean {
  return principal.role === 'admin' || record.ownerId === principal.userId;
}

/** One message for "not yours" on every route, so it says nothing about what exists. */
const forbidden = () => new SwitchyardError(ErrorCode.FORBIDDEN, 'not allowed to access these tasks');

function id(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

function view(r: TaskRecord) {
  return { task_id: r.taskId, item_id: r.itemId, owner_id: r.ownerId, instance_id: r.instanceId, kind: r.kind, status: r.status, created_at: r.createdAt };
}

/** The task REST API of SPEC §4.4 (docs/tasks.md). */
export function registerTaskRoutes(target: RouteTarget, manager: TaskManager, authorizeItem: AuthorizeItem = anyItem): void {
  target.route('POST', '/api/tasks', async (ctx) => {
    const principal = caller(ctx);
    const body = ctx.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'body must be a JSON object {kind, item_id?, input?}');
    }
    const { kind, item_id: rawItem, input } = body as Record<string, unknown>;
    const itemId = rawItem === undefined || rawItem === null ? null : id(rawItem, 'item_id');
    if (itemId !== null && !(await authorizeItem(principal, itemId))) throw forbidden();
    try {
      const record = await manager.create({ kind: id(kind, 'kind'), itemId, ownerId: principal.userId, input });
      return { task_id: record.taskId, item_id: record.itemId };
    } catch (err) {
      if (!(err instanceof TaskQuotaError)) throw err;
      return HttpReply.error(429, err.code, err.message, { 'retry-after': String(err.retryAfterSec) });
    }
  });

  target.route('GET', '/api/tasks', async (ctx) => {
    if (caller(ctx).role !== 'admin') throw new SwitchyardError(ErrorCode.FORBIDDEN, 'listing every task needs the admin role');
    const tasks = await manager.list();
    return { task_ids: tasks.map((t) => t.taskId), tasks: tasks.map(view) };
  });

  target.route('POST', '/api/tasks/stop/:taskId', async (ctx) => {
    const principal = caller(ctx);
    const taskId = id(ctx.params.taskId, 'task id');
    const record = await manager.find(taskId);
    if (record === null) throw new SwitchyardError(ErrorCode.NOT_FOUND, `no running task ${taskId}`);
    if (!canTouch(principal, record)) throw forbidden();
    // The record's owner never changes; the stop itself runs in that owner's item turn.
    const result = await manager.stopFound(record, ownerScope(principal));
    if (!result.found) throw new SwitchyardError(ErrorCode.NOT_FOUND, `no running task ${taskId}`);
    const message = result.instanceId === manager.instanceId ? `task ${taskId} stopped` : `stop signal sent for task ${taskId} to instance ${result.instanceId}`;
    return { status: true, message };
  });

  target.route('GET', '/api/tasks/chat/:chatId', async (ctx) => {
    const principal = caller(ctx);
    const itemId = chatItem(id(ctx.params.chatId, 'chat id'));
    if (!(await authorizeItem(principal, itemId))) throw forbidden();
    return { task_ids: await manager.listByItem(itemId, ownerScope(principal)) };
  });

  target.route('POST', '/api/tasks/chat/:chatId/stop', async (ctx) => {
    const principal = caller(ctx);
    const itemId = chatItem(id(ctx.params.chatId, 'chat id'));
    if (!(await authorizeItem(principal, itemId))) throw forbidden();
    const stopped = await manager.stopItem(itemId, ownerScope(principal));
    return { status: true, message: `stop signal sent for ${stopped.length} task(s) of ${itemId}`, task_ids: stopped };
  });
}
