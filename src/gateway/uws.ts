import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

export interface LoadedUws {
  readonly uws: UwsModule;
  /** True when the native uSockets binary is active, false on the slow JS fallback. */
  readonly native: boolean;
  /** Path of the loaded `binaries/uws_*.node`, when native. */
  readonly binary?: string;
}

const require = createRequire(import.meta.url);
const BINARY = /[\\/]binaries[\\/]uws_[^\\/]+\.node$/;

let loaded: LoadedUws | undefined;

/**
 * Loads uWebSockets.js once and tells which implementation is active. The package
 * falls back to a JS implementation without failing when its binary does not load
 * (another Node ABI), which silently costs most of the throughput — so callers log
 * it, export it as a metric and refuse to start on it unless allowed.
 */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  const uws = require('uWebSockets.js') as UwsModule;
  const binary = Object.keys(require.cache).find((path) => BINARY.test(path) && require.cache[path]?.exports === uws);
  loaded = Object.freeze(binary ? { uws, native: true, binary } : { uws, native: false });
  return loaded;
}
