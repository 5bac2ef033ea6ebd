import { ErrorCode } from '../errors.js';
import { StorageError } from './errors.js';
import type { FilePatch, FileRecord, FileStatus } from './ports.js';

export type { FilePatch };

export type NewFile = Omit<FileRecord, 'status' | 'progress' | 'chunks' | 'error' | 'attempts' | 'createdAt' | 'updatedAt'>;

const PATCHABLE: ReadonlySet<string> = new Set<keyof FilePatch>(['status', 'progress', 'error', 'attempts', 'chunks']);
const STATUSES: ReadonlySet<string> = new Set<FileStatus>(['queued', 'started', 'finished', 'failed', 'deferred', 'canceled']);

/**
 * The one rule for a file patch, shared by both adapters: only the patchable fields,
 * a known status. Returns false when the patch sets nothing (then nothing is written,
 * not even updated_at). Throws a BAD_REQUEST StorageError otherwise.
 */
export function assertPatch(patch: FilePatch): boolean {
  let any = false;
  for (const [key, value] of Object.entries(patch)) {
    if (!PATCHABLE.has(key)) throw new StorageError(ErrorCode.BAD_REQUEST, `file field "${key}" cannot be patched`);
    if (value === undefined) continue;
    if (key === 'status' && !STATUSES.has(value as string)) throw new StorageError(ErrorCode.BAD_REQUEST, `unknown file status "${String(value)}"`);
    any = true;
  }
  return any;
}
