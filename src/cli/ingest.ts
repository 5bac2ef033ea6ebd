import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, CliError, describeError, NetworkError, resolveEndpoint, type ApiReply } from './ApiClient.js';
import { listSupported, type LocalFile } from './files.js';
import { IngestState, STATE_FILE, type StateEntry } from './IngestState.js';
import { Progress } from './Progress.js';

export const INGEST_USAGE = `  ingest <dir> --collection <name> [--url <http://host:port>] [--token <jwt>]
         [--concurrency 4] [--poll-ms 500] [--state <file>] [--retry-failed]
      Uploads every PDF, DOCX, HTML, Markdown and text file under <dir> to POST /api/files,
      follows each to finished/failed, and prints a summary. Interrupted (Ctrl-C)? Run it
      again: files the server already has are not sent twice (state: <dir>/${STATE_FILE}).
`;

const TERMINAL = new Set(['finished', 'failed', 'canceled']);
/** Network / 5xx retries of one upload before it is reported failed. */
const UPLOAD_ATTEMPTS = 3;

interface Item {
  readonly file: LocalFile;
  readonly hash: string;
  entry: StateEntry | null;
  /** Why it failed before it had a server id (upload refused, unreadable file). */
  localError: string | null;
  /** Finished (or failed) in an earlier run; not counted in the ETA rate. */
  resumed: boolean;
}

interface IngestOptions {
  readonly dir: string;
  readonly collection: string;
  readonly client: ApiClient;
  readonly concurrency: number;
  readonly pollMs: number;
  readonly statePath: string;
  readonly retryFailed: boolean;
}

export async function ingestCommand(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      collection: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'poll-ms': { type: 'string', default: '500' },
      state: { type: 'string' },
      'retry-failed': { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new CliError(`ingest: exactly one <dir> is required\n${INGEST_USAGE}`, 2);
  if (!values.collection) throw new CliError(`ingest: --collection is required\n${INGEST_USAGE}`, 2);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`ingest: ${dir} is not a directory`, 2);
  const concurrency = positiveInt('concurrency', values.concurrency);
  const pollMs = positiveInt('poll-ms', values['poll-ms']);
  const { url, token } = resolveEndpoint(values, process.env);
  const options: IngestOptions = {
    dir: resolve(dir),
    collection: values.collection,
    client: new ApiClient(url, token),
    concurrency,
    pollMs,
    statePath: values.state ?? join(dir, STATE_FILE),
    retryFailed: values['retry-failed'],
  };
  return new IngestRun(options, io).run();
}

function positiveInt(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`ingest: --${name} must be a positive whole number, got ${JSON.stringify(raw)}`, 2);
  return n;
}

/** One `ingest` invocation: upload with bounded concurrency, poll until every file is final, summarise. */
class IngestRun {
  private readonly state: IngestState;
  private readonly progress: Progress;
  private items: Item[] = [];
  private interrupted = false;

  constructor(
    private readonly o: IngestOptions,
    private readonly io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  ) {
    this.state = IngestState.load(o.statePath);
    this.progress = new Progress(io.stderr);
  }

  async run(): Promise<number> {
    const { files, skipped } = listSupported(this.o.dir);
    if (skipped.length > 0) this.io.stderr.write(`skipping ${skipped.length} unsupported file(s): ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}\n`);
    this.items = files.map((file) => {
      const hash = createHash('sha256').update(readFileSync(file.path)).digest('hex');
      const entry = this.state.get(this.o.collection, hash) ?? null;
      return { file, hash, entry, localError: null, resumed: entry !== null && TERMINAL.has(entry.status) };
    });
    if (this.o.retryFailed) for (const item of this.items) if (item.entry && item.entry.status !== 'finished') this.forget(item);

    // First Ctrl-C: stop starting uploads, record the ones in flight, exit resumable. Second: leave now.
    const onSigint = () => {
      if (this.interrupted) process.exit(130);
      this.interrupted = true;
      this.io.stderr.write('\ninterrupted: finishing uploads in flight, then saving state (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSigint);
    try {
      await this.refreshKnown();
      this.draw();
      const uploads = this.uploadAll();
      await Promise.all([uploads, this.pollUntilDone(uploads)]);
    } finally {
      process.off('SIGINT', onSigint);
      this.state.save();
      this.progress.finish();
    }
    return this.summarise();
  }

  /** Files an earlier run uploaded: ask the server what became of them (a 404 means upload again). */
  private async refreshKnown(): Promise<void> {
    const known = this.items.filter((i) => i.entry);
    await this.pool(known, async (item) => {
      const reply = await this.o.client.request<Record<string, unknown>>('GET', `/api/files/${encodeURIComponent(item.entry!.id)}`);
      if (reply.status === 404) this.forget(item);
      else if (reply.status === 200) this.apply(item, reply.body);
      else throw new CliError(`GET /api/files/${item.entry!.id}: ${describeError(reply)}`);
    });
  }

  private forget(item: Item): void {
    item.entry = null;
    item.resumed = false;
    this.state.delete(this.o.collection, item.hash);
  }

  private uploadAll(): Promise<void> {
    const todo = this.items.filter((i) => !i.entry);
    return this.pool(todo, async (item) => {
      if (this.interrupted) return;
      await this.upload(item);
      this.draw();
    });
  }

  private async upload(item: Item): Promise<void> {
    const bytes = readFileSync(item.file.path);
    const path = `/api/files?collection=${encodeURIComponent(this.o.collection)}`;
    const headers = { 'content-type': item.file.contentType, 'x-filename': encodeURIComponent(item.file.name) };
    let reply: ApiReply<Record<string, unknown>> | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        reply = await this.o.client.request('POST', path, { body: bytes, headers });
        if (reply.status < 500 || attempt >= UPLOAD_ATTEMPTS) break;
      } catch (err) {
        if (!(err instanceof NetworkError) || attempt >= UPLOAD_ATTEMPTS) throw err;
      }
      await sleep(500 * 2 ** (attempt - 1));
    }
    if (reply!.status === 404 && /no route/.test(describeError(reply!))) {
      throw new CliError(`${this.o.client.baseUrl} has no POST /api/files: is this a switchyard server with ingestion enabled?`);
    }
    if (reply!.status === 401 || reply!.status === 403) throw new CliError(`upload refused: ${describeError(reply!)}`);
    if (reply!.status !== 202 && reply!.status !== 200 && reply!.status !== 201) {
      item.localError = `upload refused: ${describeError(reply!)}`;
      return;
    }
    const id = reply!.body?.id;
    if (typeof id !== 'string') throw new CliError(`POST /api/files answered without an id: ${JSON.stringify(reply!.body)}`);
    item.entry = { id, name: item.file.name, status: String(reply!.body.status ?? 'queued'), chunks: 0, error: null };
    // Recorded before anything else happens, so an interruption from here on cannot cause a second upload.
    this.state.set(this.o.collection, item.hash, item.entry);
    this.state.save();
  }

  private async pollUntilDone(uploads: Promise<void>): Promise<void> {
    let uploading = true;
    let uploadsFailed = false;
    uploads.then(
      () => (uploading = false),
      () => (uploadsFailed = true), // run() reports it; stop polling
    );
    for (;;) {
      const open = this.items.filter((i) => i.entry && !TERMINAL.has(i.entry.status));
      if (uploadsFailed || (this.interrupted && !uploading)) return;
      if (open.length === 0 && !uploading) return;
      await this.pool(open, async (item) => {
        const reply = await this.o.client.request<Record<string, unknown>>('GET', `/api/files/${encodeURIComponent(item.entry!.id)}`);
        if (reply.status === 200) this.apply(item, reply.body);
        else if (reply.status === 404) Object.assign(item.entry!, { status: 'failed', error: 'the server no longer has this file (deleted?)' });
      }).catch((err: unknown) => {
        // A poll that cannot reach the server is retried next period; uploads report their own errors.
        if (!(err instanceof NetworkError)) throw err;
      });
      this.draw();
      if (this.items.every((i) => i.localError || (i.entry && TERMINAL.has(i.entry.status)))) return;
      await sleep(this.o.pollMs);
    }
  }

  private apply(item: Item, body: Record<string, unknown>): void {
    const entry = item.entry!;
    entry.status = String(body.status ?? entry.status);
    entry.chunks = typeof body.chunks === 'number' ? body.chunks : entry.chunks;
    entry.error = typeof body.error === 'string' ? body.error : body.error ? JSON.stringify(body.error) : null;
  }

  private draw(): void {
    let done = 0;
    let failed = 0;
    let uploaded = 0;
    let chunks = 0;
    let resumed = 0;
    for (const i of this.items) {
      if (i.entry) uploaded++;
      if (i.resumed) resumed++;
      const isFailed = i.localError !== null || (i.entry !== null && TERMINAL.has(i.entry.status) && i.entry.status !== 'finished');
      if (isFailed) failed++;
      if (isFailed || i.entry?.status === 'finished') done++;
      if (i.entry?.status === 'finished') chunks += i.entry.chunks;
    }
    this.progress.update({ total: this.items.length, done, failed, uploaded, chunks, resumed });
  }

  private summarise(): number {
    const finished = this.items.filter((i) => i.entry?.status === 'finished');
    const failures = this.items.filter((i) => i.localError || (i.entry && TERMINAL.has(i.entry.status) && i.entry.status !== 'finished'));
    const pending = this.items.filter((i) => !i.localError && !(i.entry && TERMINAL.has(i.entry.status)));
    const chunks = finished.reduce((n, i) => n + i.entry!.chunks, 0);
    const resumed = finished.filter((i) => i.resumed).length;
    const out = this.io.stdout;
    out.write(
      `ingest ${this.o.collection}: ${this.items.length} files · ${finished.length} finished${resumed ? ` (${resumed} already done by an earlier run)` : ''}` +
        ` · ${failures.length} failed · ${pending.length} not done · ${chunks} chunks\n`,
    );
    if (failures.length > 0) {
      out.write('failed:\n');
      for (const i of failures) out.write(`  ${i.file.name}: ${i.localError ?? i.entry!.error ?? i.entry!.status}\n`);
    }
    if (this.interrupted || pending.length > 0) {
      out.write(`not finished: run the same command again to resume (state in ${this.o.statePath})\n`);
      return this.interrupted ? 130 : 1;
    }
    return failures.length > 0 ? 1 : 0;
  }

  /** Runs `fn` over `items`, at most `concurrency` at a time; the first error rejects (after the rest settle). */
  private async pool<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: unknown = null;
    const worker = async () => {
      while (next < items.length && failure === null) {
        const item = items[next++]!;
        try {
          await fn(item);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, items.length) }, worker));
    if (failure !== null) throw failure;
  }
}
