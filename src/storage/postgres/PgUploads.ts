import { Readable } from 'node:stream';
import { ErrorCode } from '../../errors.js';
import { assertBlobName, pieces } from '../blobs.js';
import { StorageError } from '../errors.js';
import type { UploadStore } from '../ports.js';
import { named, type PgClient } from './PgClient.js';
import { toStorageError } from './pgErrors.js';

/**
 * Bytes per row of upload_pieces. 1 MiB keeps a 50 MB upload at 50 rows and each
 * round trip small; the stream holds at most one piece (plus the socket's buffer).
 */
export const PIECE_BYTES = 1 << 20;

const DELETE = named('upl_delete', 'DELETE FROM uploads WHERE id = $1');
const INSERT = named('upl_insert', 'INSERT INTO uploads (id, size_bytes, pieces, created_at) VALUES ($1, 0, 0, $2)');
const INSERT_PIECE = named('upl_piece', 'INSERT INTO upload_pieces (upload_id, seq, data) VALUES ($1, $2, $3)');
const SEAL = named('upl_seal', 'UPDATE uploads SET size_bytes = $2, pieces = $3 WHERE id = $1');
const HEAD = named('upl_head', 'SELECT pieces, created_at FROM uploads WHERE id = $1');
const READ_PIECE = named('upl_read', 'SELECT data FROM upload_pieces WHERE upload_id = $1 AND seq = $2');

/**
 * Upload bytes in PostgreSQL, so the instance that runs a job need not be the one
 * that took the upload. A put is one transaction (all pieces or none, replacing
 * earlier bytes); a read fetches one piece per query as the consumer pulls, so
 * neither side holds the whole file and no connection is held between pieces.
 */
export class PgUploads implements UploadStore {
  constructor(private readonly pg: PgClient, private readonly now: () => number) {}

  async put(id: string, bytes: Uint8Array | AsyncIterable<Uint8Array>): Promise<number> {
    assertBlobName(id);
    return this.pg.transaction('upload put', async (client) => {
      await client.query(DELETE([id]));
      await client.query(INSERT([id, this.now()]));
      let seq = 0;
      let size = 0;
      for await (const piece of pieces(bytes, PIECE_BYTES)) {
        await client.query(INSERT_PIECE([id, seq++, piece]));
        size += piece.byteLength;
      }
      await client.query(SEAL([id, size, seq]));
      return size;
    });
  }

  async open(id: string): Promise<Readable> {
    assertBlobName(id);
    const head = await this.pg.query<{ pieces: number; created_at: string }>('upload open', HEAD([id]));
    if (!head.rows[0]) throw new StorageError(ErrorCode.NOT_FOUND, `no stored bytes for upload ${id}`);
    const { pieces: count } = head.rows[0];
    const pg = this.pg;
    let seq = 0;
    // highWaterMark 0: nothing is fetched before the consumer asks for it.
    return new Readable({
      highWaterMark: 0,
      read() {
        if (seq >= count) {
          this.push(null);
          return;
        }
        const at = seq++;
        pg.pool.query<{ data: Buffer }>(READ_PIECE([id, at])).then(
          ({ rows }) => {
            if (!rows[0]) this.destroy(new StorageError(ErrorCode.NOT_FOUND, `upload ${id} was replaced or deleted while being read`));
            else this.push(rows[0].data);
          },
          (err: unknown) => this.destroy(toStorageError(err, 'upload read')),
        );
      },
    });
  }

  localPath(): null {
    return null;
  }

  async delete(id: string): Promise<void> {
    assertBlobName(id);
    await this.pg.query('upload delete', DELETE([id]));
  }
}
