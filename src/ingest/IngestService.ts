import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/tokens.js';
import { BackendUnavailableError, ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ChunkHit, FileRecord, FileStatus, FileStore, UploadStore } from '../storage/ports.js';
import { UnreadableApiKeyError, type ApiKeyStore } from './ApiKeyStore.js';
import type { Embeddings } from './embed/Embeddings.js';
import { PermanentJobError } from './errors.js';
import type { ChunkOptions } from './pipeline/chunk.js';
import type { ExtractLimits } from './pipeline/extract.js';
import { detectKind } from './pipeline/fileKind.js';
import { PREPARE_TASK, runIngestTask, type IngestPool, type PrepareResult } from './poolTasks.js';
import type { JobContext, JobOutcome, JobQueue, JobWorker } from '../coordination/jobs/JobQueue.js';

export interface IngestServiceOptions {
  readonly dataDir: string;
  /** Extraction limits (file size, PDF pages, DOCX inflated bytes), enforced in the pool thread. */
  readonly limits: ExtractLimits;
  /** One extraction's budget: past it the thread is terminated and the file fails permanently. */
  readonly extractTimeoutMs: number;
  readonly chunking: ChunkOptions;
  /** Jobs this instance runs at once. */
  readonly concurrency: number;
  /** How often unfinished files are checked for a live job (lost with a Redis restart, say). */
  readonly reconcileIntervalMs: number;
  /** ingest.uploadRetention = delete-when-finished. @default false */
  readonly deleteUploadWhenFinished?: boolean;
}

export interface FileStatusEvent {
  readonly file_id: string;
  readonly status: FileStatus;
  readonly progress: number;
  readonly error?: string;
}

export interface IngestServiceDeps {
  readonly files: FileStore;
  /** Upload bytes: files under DATA_DIR (SQLite) or the database (PostgreSQL). */
  readonly uploads: UploadStore;
  readonly queue: JobQueue;
  readonly pool: IngestPool;
  readonly embeddings: Embeddings;
  readonly keys: ApiKeyStore;
  readonly log: Logger;
  /** Delivers `file:status` to the owner (room `user:<id>` on every instance). */
  readonly notify: (ownerId: string, event: FileStatusEvent) => void;
}

export interface Upload {
  readonly owner: Principal;
  readonly name: string;
  readonly contentType: string;
  readonly collection: string;
  readonly bytes: Uint8Array;
}

const UNFINISHED: readonly FileStatus[] = ['queued', 'started', 'deferred'];

/**
 * Files and their jobs. The file record is the source of truth: an upload is
 * recorded `queued` even when the queue is unreachable, and a periodic
 * reconcile enqueues every unfinished file that has no live job (also at start).
 * The processor is idempotent — chunks are replaced in one transaction keyed by
 * (file, index) — so a duplicated or recovered job cannot create duplicates.
 */
export class IngestService {
  private worker: JobWorker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;

  constructor(private readonly deps: IngestServiceDeps, private readonly options: IngestServiceOptions) {}

  async start(): Promise<void> {
    this.worker = this.deps.queue.process((job) => this.process(job), {
      concurrency: this.options.concurrency,
      onOutcome: (job, outcome) => this.onOutcome(job, outcome),
    });
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.options.reconcileIntervalMs);
    this.timer.unref();
  }

  async upload(upload: Upload): Promise<FileRecord> {
    const kind = detectKind(upload.name, upload.contentType);
    if (!kind) {
      throw new SwitchyardError(ErrorCode.FILE_UNSUPPORTED, `${upload.name} (${upload.contentType}) is not PDF, DOCX, HTML, Markdown or text`);
    }
    if (upload.bytes.byteLength === 0) throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'the upload is empty');
    if (upload.bytes.byteLength > this.options.limits.maxFileBytes) {
      throw new SwitchyardError(ErrorCode.FILE_TOO_LARGE, `the file is larger than ${this.options.limits.maxFileBytes} bytes`);
    }
    await this.apiKeyOf(upload.owner.userId);
    const id = randomUUID();
    await this.deps.uploads.put(id, upload.bytes);
    const path = this.deps.uploads.localPath(id) ?? id;
    const record = await this.deps.files.createFile({
      id,
      ownerId: upload.owner.userId,
      name: upload.name,
      contentType: upload.contentType,
      collection: upload.collection,
      sizeBytes: upload.bytes.byteLength,
      path,
    });
    try {
      await this.deps.queue.enqueue({ fileId: id, userId: upload.owner.userId });
    } catch (err) {
      // Recorded as queued: the reconcile enqueues it once the backend answers again.
      this.deps.log.warn({ fileId: id, err: errorMessage(err) }, 'enqueue failed; the file stays queued and is retried');
    }
    return record;
  }

  /** The file if the caller may see it (owner or admin), else NOT_FOUND. */
  async get(id: string, principal: Principal): Promise<FileRecord> {
    const file = await this.deps.files.getFile(id);
    if (!file || (file.ownerId !== principal.userId && principal.role !== 'admin')) {
      throw new SwitchyardError(ErrorCode.NOT_FOUND, `no file ${id}`);
    }
    return file;
  }

  /** Cancels the job (wherever it runs), removes the record, chunks, vectors and bytes. */
  async delete(id: string, principal: Principal): Promise<void> {
    const file = await this.get(id, principal);
    try {
      await this.deps.queue.cancel(this.deps.queue.jobId(id));
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
      this.deps.log.warn({ fileId: id, err: errorMessage(err) }, 'cancel failed (queue unreachable); the job will find its file gone');
    }
    await this.deps.files.deleteFile(id);
    await this.deps.uploads.delete(file.id);
  }

  async query(q: { collection: string; query: string; k: number }, principal: Principal): Promise<ChunkHit[]> {
    const apiKey = await this.apiKeyOf(principal.userId);
    let embedding: Float32Array;
    try {
      [embedding] = await this.deps.embeddings.embed([q.query], apiKey);
    } catch (err) {
      if (err instanceof SwitchyardError) throw err;
      throw new SwitchyardError(ErrorCode.EMBEDDING_UNAVAILABLE, `could not embed the query: ${errorMessage(err)}`);
    }
    return this.deps.files.query({
      collection: q.collection,
      ownerId: principal.role === 'admin' ? null : principal.userId,
      embedding: embedding!,
      k: q.k,
      model: this.deps.embeddings.space,
    });
  }

  /** Enqueues every unfinished file without a live job. Safe on every instance at once (enqueue is idempotent). */
  reconcile(): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        const files = await this.deps.files.listByStatus(UNFINISHED);
        for (const file of files) {
          // enqueue leaves a live job alone and replaces only a finished/failed one.
          const { created } = await this.deps.queue.enqueue({ fileId: file.id, userId: file.ownerId }, { replaceTerminal: true });
          if (created) this.deps.log.info({ fileId: file.id, status: file.status }, 're-enqueued an unfinished file with no live job');
        }
      } catch (err) {
        this.deps.log.warn({ err: errorMessage(err) }, 'reconcile failed; retrying at the next interval');
      } finally {
        this.reconciling = null;
      }
    })();
    return this.reconciling;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reconciling;
    await this.worker?.close();
  }

  private async process(job: JobContext): Promise<void> {
    const { fileId, userId } = job.data;
    const file = await this.deps.files.getFile(fileId);
    if (!file || file.status === 'finished' || file.status === 'canceled') return; // deleted or done by a duplicate
    await this.update(file, { status: 'started', attempts: job.attempt, progress: 0.05, error: null });
    const apiKey = await this.apiKeyOf(
      userId,
      (message) => new PermanentJobError(ErrorCode.EMBEDDING_KEY_MISSING, message),
      (err) => new PermanentJobError(err.code, err.message),
    );
    const kind = detectKind(file.name, file.contentType);
    if (!kind) throw new PermanentJobError(ErrorCode.FILE_UNSUPPORTED, `${file.name} has an unsupported type`);
    const { chunks } = await runIngestTask<PrepareResult>(
      this.deps.pool,
      PREPARE_TASK,
      { ...(await this.bytesFor(file)), name: file.name, fileKind: kind, limits: this.options.limits, chunking: this.options.chunking },
      { signal: job.signal, deadlineMs: this.options.extractTimeoutMs, what: `extraction of ${file.name}` },
    );
    await this.update(file, { progress: 0.3 });
    // All chunks go to the batcher at once (they share batches with other jobs); progress follows slices.
    const slice = Math.max(1, Math.ceil(chunks.length / 5));
    const parts: Promise<Float32Array[]>[] = [];
    for (let i = 0; i < chunks.length; i += slice) {
      parts.push(
        this.deps.embeddings.embed(chunks.slice(i, i + slice).map((c) => c.text), apiKey, job.signal),
      );
    }
    let done = 0;
    const vectors = (
      await Promise.all(
        parts.map(async (p) => {
          const v = await p;
          done += v.length;
          void this.update(file, { progress: 0.3 + 0.6 * (done / chunks.length) }).catch(() => {});
          return v;
        }),
      )
    ).flat();
    if (job.signal.aborted) throw job.signal.reason;
    const finished = { status: 'finished', progress: 1, chunks: chunks.length, error: null } as const;
    // Chunks, vectors and the finished status in one transaction.
    await this.deps.files.replaceChunks(
      fileId,
      chunks.map((c, index) => ({ index, text: c.text, metadata: c.metadata, embedding: vectors[index]! })),
      { name: this.deps.embeddings.space, dimensions: vectors[0]?.length ?? 0 },
      finished,
    );
    await this.update(file, finished);
    if (this.options.deleteUploadWhenFinished) {
      await this.deps.uploads.delete(fileId).catch((err: unknown) => this.deps.log.warn({ fileId, err: errorMessage(err) }, 'upload bytes not deleted after finishing'));
    }
  }

  /**
   * How the pool thread gets the bytes: the path when they are a local file, else
   * one buffer of the stored bytes (sized from the record, filled piece by piece).
   */
  private async bytesFor(file: FileRecord): Promise<{ path: string } | { bytes: Uint8Array }> {
    const path = this.deps.uploads.localPath(file.id);
    if (path) return { path };
    const stream = await this.deps.uploads.open(file.id);
    const bytes = new Uint8Array(file.sizeBytes);
    let at = 0;
    for await (const piece of stream as AsyncIterable<Uint8Array>) {
      if (at + piece.byteLength > bytes.byteLength) throw new PermanentJobError(ErrorCode.FILE_CORRUPT, `stored bytes of ${file.name} exceed its recorded size`);
      bytes.set(piece, at);
      at += piece.byteLength;
    }
    return { bytes: bytes.subarray(0, at) };
  }

  private async onOutcome(job: Pick<JobContext, 'data' | 'attempt'>, outcome: JobOutcome): Promise<void> {
    if (outcome.state === 'finished') return; // written by the processor itself, before the job settles
    const file = await this.deps.files.getFile(job.data.fileId);
    if (!file) return;
    const progress = outcome.state === 'deferred' ? 0 : file.progress;
    await this.update(file, { status: outcome.state, error: outcome.error, attempts: job.attempt, progress });
    if (outcome.state === 'failed') this.deps.log.warn({ fileId: file.id, attempts: job.attempt, error: outcome.error }, 'ingestion failed');
  }

  /**
   * The key to embed with for `userId`: null when the provider needs none, else the
   * user's own or the server's; without one, `missing` (an upload's or query's 400 by default);
   * a stored key that does not decrypt, `unreadable` (a job cannot fix it by retrying).
   */
  private async apiKeyOf(
    userId: string,
    missing: (message: string) => Error = (m) => new SwitchyardError(ErrorCode.EMBEDDING_KEY_MISSING, m),
    unreadable: (err: UnreadableApiKeyError) => Error = (err) => err,
  ): Promise<string | null> {
    if (!this.deps.embeddings.needsApiKey) return null;
    let key: string | null;
    try {
      key = await this.deps.keys.resolve(userId);
    } catch (err) {
      if (err instanceof UnreadableApiKeyError) throw unreadable(err);
      throw err;
    }
    if (!key) throw missing('the embedding provider needs an API key and none is set for this user: set one with PUT /api/embedding/key');
    return key;
  }

  private async update(file: FileRecord, patch: Parameters<FileStore['updateFile']>[1]): Promise<void> {
    const next = await this.deps.files.updateFile(file.id, patch);
    if (!next) return;
    const event: FileStatusEvent = { file_id: next.id, status: next.status, progress: Math.round(next.progress * 100) / 100 };
    this.deps.notify(next.ownerId, next.error ? { ...event, error: next.error } : event);
  }
}
