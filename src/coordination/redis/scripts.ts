import { readFileSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { LeaseLostError } from '../../errors.js';

/**
 * Lua commands, one file each under `lua/<command>-<numKeys>.lua`, registered once
 * per client with ioredis `defineCommand` (EVALSHA with a transparent EVAL fallback).
 * A line `-- @include <file>` splices in `lua/includes/<file>`, so the fenced and
 * unfenced sweeps share one body instead of two copies drifting apart.
 */
const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^-- @include (\S+)\s*$/gm;

export type ScriptName =
  | 'sessionUpsert'
  | 'sessionTouch'
  | 'sessionRemove'
  | 'sessionSweep'
  | 'sessionSweepFenced'
  | 'usageMark'
  | 'usageRemoveSession'
  | 'usageSweep'
  | 'usageSweepFenced'
  | 'lockAcquire'
  | 'lockRenew'
  | 'lockRelease'
  | 'lockHolder'
  | 'instancesReap'
  | 'docAppend'
  | 'busPublish'
  | 'taskAdd'
  | 'taskRemove';

/** Numeric statuses a script returns instead of its normal reply. */
export const ScriptStatus = {
  /** A fenced write found the lease held by someone else (or by no one). */
  LeaseLost: -1,
} as const;

interface LuaCommand {
  readonly name: ScriptName;
  readonly numberOfKeys: number;
  readonly lua: string;
}

let loaded: readonly LuaCommand[] | null = null;

/** Reads every script once per process (they ship next to the compiled module). */
function loadCommands(): readonly LuaCommand[] {
  if (loaded) return loaded;
  const commands: LuaCommand[] = [];
  for (const file of readdirSync(LUA_DIR)) {
    const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const source = readFileSync(new URL(file, LUA_DIR), 'utf8');
    const lua = source.replace(INCLUDE, (_line, include: string) => readFileSync(new URL(`includes/${include}`, LUA_DIR), 'utf8'));
    commands.push({ name: match[1] as ScriptName, numberOfKeys: Number(match[2]), lua });
  }
  loaded = Object.freeze(commands);
  return loaded;
}

type ScriptArg = string | number | Buffer;
type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

/** Typed access to the Lua commands of one client. */
export class Scripts {
  private readonly keysOf = new Map<ScriptName, number>();

  constructor(readonly client: Redis) {
    for (const c of loadCommands()) {
      client.defineCommand(c.name, { numberOfKeys: c.numberOfKeys, lua: c.lua });
      this.keysOf.set(c.name, c.numberOfKeys);
    }
  }

  /** Runs a script; `keys.length` must match the number in its file name. */
  async run(name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const expected = this.keysOf.get(name);
    if (expected === undefined) throw new Error(`Lua script ${name} is not loaded (missing lua/${name}-N.lua?)`);
    if (keys.length !== expected) throw new Error(`Lua script ${name} takes ${expected} keys, got ${keys.length}`);
    const fn = (this.client as unknown as Record<ScriptName, ScriptFn>)[name];
    return fn.call(this.client, ...keys, ...args);
  }

  /** Like run(), for fenced writes: maps a status reply to its error. */
  async runFenced(name: ScriptName, lockName: string, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    return checkStatus(await this.run(name, keys, args), lockName);
  }
}

/** The one place where script status codes become errors. */
export function checkStatus(reply: unknown, lockName: string): unknown {
  if (reply === ScriptStatus.LeaseLost) throw new LeaseLostError(lockName);
  return reply;
}
