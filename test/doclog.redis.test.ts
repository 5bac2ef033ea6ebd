import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { LOG_START, type LogEntry } from '../src/coordination/DocumentLog.js';
import { keySafe } from '../src/coordination/keySafe.js';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { documentLogContract } from './doclog.contract.js';
import { dropPrefix } from './coordination.helpers.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { sleep, waitFor } from './helpers/wait.js';


await describeRedis('document log on Redis streams', (server) => {
  documentLogContract('redis', async () => {
    const keyPrefix = randomPrefix();
    // Two backends on one prefix = two instances.
    const c1 = await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() });
    const c2 = await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() });
    return {
      a: c1.docLog,
      b: c2.docLog,
      cleanup: async () => {
        await Promise.all([c1.close(), c2.close()]);
        await dropPrefix(server.url, keyPrefix);
      },
    };
  });

  describe('redis internals', () => {
    it('keeps streams under <prefix>:doc:<base64url id>:log, so ids with ":" never meet', async () => {
      const keyPrefix = randomPrefix();
      const coord = await createRedisCoordination({ url: server.url, keyPrefix });
      const raw = new Redis(server.url);
      try {
        await coord.docLog.append('v1', 'A', new Uint8Array([1]));
        await coord.docLog.append('v1:log', 'A', new Uint8Array([2]));
        await coord.docLog.markSaved('v1', '1-0');
        assert.equal(await raw.xlen(`${keyPrefix}:doc:${keySafe('v1')}:log`), 1);
        assert.equal(await raw.xlen(`${keyPrefix}:doc:${keySafe('v1:log')}:log`), 1);
        assert.equal(await raw.get(`${keyPrefix}:doc:${keySafe('v1')}:saved`), '1-0');
        assert.equal(await raw.exists(`${keyPrefix}:doc:v1:log`), 0, 'no raw id in any key');
      } finally {
        raw.disconnect();
        await coord.close();
        await dropPrefix(server.url, keyPrefix);
      }
    });

    /** A reader instance subscribed to `doc` from the start, a writer instance, and a raw client to kill the reader's connection. */
    async function readerAndWriter(doc: string) {
      const keyPrefix = randomPrefix();
      const reader = await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() });
      const writer = await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() });
      const raw = new Redis(server.url);
      const rec = { got: [] as string[], gaps: 0 };
      const off = reader.docLog.subscribe(doc, LOG_START, {
        entries: (entries: readonly LogEntry[]) => rec.got.push(...entries.map((e) => Buffer.from(e.update).toString())),
        gap: () => (rec.gaps += 1),
      });
      return {
        rec,
        writer: writer.docLog,
        killReader: async () => {
          const line = ((await raw.client('LIST')) as string).split('\n').find((l) => l.includes(`name=${keyPrefix}:docs-reader`));
          assert.ok(line, 'the reader connection is named');
          await raw.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
        },
        cleanup: async () => {
          off();
          raw.disconnect();
          await Promise.all([reader.close(), writer.close()]);
          await dropPrefix(server.url, keyPrefix);
        },
      };
    }

    it('a killed reader connection reconnects and delivers what was appended meanwhile, once', async () => {
      const { rec, writer, killReader, cleanup } = await readerAndWriter('k');
      const got = rec.got;
      try {
        await writer.append('k', 'W', Buffer.from('before'));
        await waitFor(() => got.length === 1, { what: 'first entry' });
        await killReader();
        for (let i = 0; i < 5; i++) await writer.append('k', 'W', Buffer.from(`during${i}`));
        await waitFor(() => got.length === 6, { what: 'entries appended around the outage', timeoutMs: 10_000 });
        await sleep(200);
        assert.deepEqual(got, ['before', 'during0', 'during1', 'during2', 'during3', 'during4']);
        // ioredis re-sends the blocked XREAD after reconnecting, so no gap needs reporting here.
        assert.ok(rec.gaps <= 1, `gaps reported: ${rec.gaps}`);
      } finally {
        await cleanup();
      }
    });

    it('entries appended and trimmed while the reader reconnects are reported as a gap, never silently skipped', async () => {
      const { rec, writer, killReader, cleanup } = await readerAndWriter('t');
      const got = rec.got;
      try {
        await writer.append('t', 'W', Buffer.from('seen'));
        await waitFor(() => got.length === 1, { what: 'first entry' });
        // ioredis re-sends the blocked XREAD after the reconnect (75-100 ms), without an error.
        await killReader();
        const missed: string[] = [];
        for (let i = 0; i < 3; i++) missed.push(await writer.append('t', 'W', Buffer.from(`missed${i}`)));
        await writer.markSaved('t', missed[2]!);
        await writer.trim('t', missed[2]!); // a save covered missed0..2; missed2 stays as the last entry
        await writer.append('t', 'W', Buffer.from('later'));
        await waitFor(() => got.includes('later'), { what: 'the entry after the trim', timeoutMs: 10_000 });
        await sleep(100);
        const skipped = ['missed0', 'missed1'].filter((t) => !got.includes(t));
        // Either the reader was back in time to read them, or it must have been told to reload.
        if (skipped.length > 0) assert.ok(rec.gaps >= 1, `skipped ${skipped.join(', ')} without a gap`);
        assert.ok(got.includes('missed2') && got.at(-1) === 'later', got.join(','));
      } finally {
        await cleanup();
      }
    });

    it('every appended entry names its predecessor, across a trim to empty too', async () => {
      const keyPrefix = randomPrefix();
      const coord = await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() });
      const raw = new Redis(server.url);
      try {
        const first = await coord.docLog.append('p', 'A', new Uint8Array([1]));
        const second = await coord.docLog.append('p', 'A', new Uint8Array([2]));
        await coord.docLog.trim('p', `${Date.now() + 1_000}-0`); // empties the stream
        const third = await coord.docLog.append('p', 'A', new Uint8Array([3]));
        const rows = await raw.xrange(`${keyPrefix}:doc:${keySafe('p')}:log`, '-', '+');
        assert.deepEqual(rows.map(([id]) => id), [third]);
        const fields = rows[0]![1];
        assert.equal(fields[fields.indexOf('p') + 1], second);
        assert.notEqual(first, second);
      } finally {
        raw.disconnect();
        await coord.close();
        await dropPrefix(server.url, keyPrefix);
      }
    });

    it('opens three named connections; a job worker adds its own and BullMQ\'s blocking one', async () => {
      const keyPrefix = randomPrefix();
      const raw = new Redis(server.url);
      const names = async () =>
        ((await raw.client('LIST')) as string)
          .split('\n')
          .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '')
          .filter((n) => n.startsWith(`${keyPrefix}:`))
          .sort();
      const coord = await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() });
      try {
        assert.deepEqual(await names(), [`${keyPrefix}:cmd`, `${keyPrefix}:docs-reader`, `${keyPrefix}:sub`]);
        const worker = coord.jobs.process(async () => {}, { concurrency: 1 });
        await waitFor(async () => (await names()).length === 5, { what: 'worker connections', timeoutMs: 5_000 });
        assert.ok((await names()).includes(`${keyPrefix}:jobs-worker`));
        await worker.close();
      } finally {
        await coord.close();
        raw.disconnect();
        await dropPrefix(server.url, keyPrefix);
      }
    });
  });
});
