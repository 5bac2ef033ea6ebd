import { assertBlobName } from '../blobs.js';
import type { KeyRecordStore } from '../ports.js';
import { named, type PgClient } from './PgClient.js';

const UPSERT = named('key_upsert', 'INSERT INTO embedding_keys (name, sealed, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET sealed = $2, updated_at = $3');
const SELECT = named('key_select', 'SELECT sealed FROM embedding_keys WHERE name = $1');
const DELETE = named('key_delete', 'DELETE FROM embedding_keys WHERE name = $1');

/** Sealed embedding-key records in PostgreSQL: set on one instance, resolved by a job on any. */
export class PgKeys implements KeyRecordStore {
  constructor(private readonly pg: PgClient, private readonly now: () => number) {}

  async put(name: string, sealed: Uint8Array): Promise<void> {
    assertBlobName(name);
    await this.pg.query('key put', UPSERT([name, Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength), this.now()]));
  }

  async get(name: string): Promise<Uint8Array | null> {
    assertBlobName(name);
    const { rows } = await this.pg.query<{ sealed: Buffer }>('key get', SELECT([name]));
    return rows[0] ? new Uint8Array(rows[0].sealed) : null;
  }

  async delete(name: string): Promise<void> {
    assertBlobName(name);
    await this.pg.query('key delete', DELETE([name]));
  }
}
