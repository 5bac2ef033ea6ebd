import pg from 'pg';
import type { Logger } from '../../observability/logger.js';
import { guarded } from './pgErrors.js';

/**
 * The pool plus the two ways this adapter talks to it. Every fixed statement is a
 * named one (`{ name, text }`): node-postgres prepares it on a connection the first
 * time it runs there and reuses the plan afterwards, so no statement is parsed per call.
 */
export class PgClient {
  constructor(readonly pool: pg.Pool, readonly log: Logger) {}

  /** One statement on any pooled connection. */
  query<R extends pg.QueryResultRow>(what: string, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    return guarded(what, () => this.pool.query<R>(config));
  }

  /** `fn` inside BEGIN … COMMIT on one connection; ROLLBACK on any error. */
  transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return guarded(what, async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true; // a connection that cannot roll back is not returned to the pool
        });
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }
}

/** A named statement: prepared once per connection, then executed by name. */
export function named(name: string, text: string): (values?: unknown[]) => pg.QueryConfig {
  return (values = []) => ({ name, text, values });
}
