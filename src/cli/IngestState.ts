import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CliError } from './ApiClient.js';

/** The default state file, inside the ingested folder (a dot-file, so it is never uploaded itself). */
export const STATE_FILE = '.switchyard-ingest.json';

export interface StateEntry {
  /** The server's file id. */
  readonly id: string;
  readonly name: string;
  /** Last known status: queued, started, deferred, finished, failed, canceled. */
  status: string;
  chunks: number;
  error: string | null;
}

interface StateFile {
  readonly version: 1;
  /** collection → sha256 of the file's bytes → what the server made of it. */
  readonly collections: Record<string, Record<string, StateEntry>>;
}

/**
 * What earlier runs uploaded, keyed by content hash per collection, so a rerun after an
 * interruption uploads only what the server never got (a renamed file is not sent
 * again; an edited one is). Written atomically (temp file + rename) after every upload,
 * so a crash leaves either the old or the new state, never half a file.
 */
export class IngestState {
  private constructor(
    readonly path: string,
    private readonly data: StateFile,
  ) {}

  static load(path: string): IngestState {
    if (!existsSync(path)) return new IngestState(path, { version: 1, collections: {} });
    let parsed: StateFile;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
    } catch (err) {
      throw new CliError(`state file ${path} is not valid JSON (${(err as Error).message}); delete it to start over`);
    }
    if (parsed?.version !== 1 || typeof parsed.collections !== 'object' || parsed.collections === null) {
      throw new CliError(`state file ${path} has an unknown format; delete it to start over`);
    }
    return new IngestState(path, parsed);
  }

  get(collection: string, hash: string): StateEntry | undefined {
    return this.data.collections[collection]?.[hash];
  }

  set(collection: string, hash: string, entry: StateEntry): void {
    (this.data.collections[collection] ??= {})[hash] = entry;
  }

  delete(collection: string, hash: string): void {
    delete this.data.collections[collection]?.[hash];
  }

  save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}
