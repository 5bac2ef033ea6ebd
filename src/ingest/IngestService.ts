import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Principal } from '../auth/tokens.js';
import { BackendUnavailableError, ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { PrepareResult } from '../pool/messages.js';
import type { WorkerPool } from '../pool/WorkerPool.js';
import type { ChunkHit, FileRecord, FileStatus, FileStore } from '../storage/ports.js';
import type { ApiKeyStore } from './ApiKeyStore.js';
import type { Embeddings } from './embed/Embeddings.js';
import { PermanentJobError } from './errors.js';
import type { ChunkOptions } from './pipeline/chunk.js';
import { detectKind } from './pipeline/fileKind.js';
import type { JobContext, JobOutcome, JobQueue, JobWorker } from '../coordination/jobs/JobQueue.js';

export interface IngestServiceOptions {
  readonly dataDir: string;
  readonly maxFileBytes: number;
  readonly maxPages: number;
  readonly chunking: ChunkOptions;
  /** Jobs this instance runs at once. */
  readonly concurrency: number;
  /** How often unfinished files are checked for a live job (lost with a Redis restart, say). */
  readonly reconcileIntervalMs: number;
}

export interface FileStatusEvent {
  readonly file_id: string;
  readonly status: FileStatus;
  readonly progress: number;
  readonly error?: string;
}

export interface IngestServiceDeps {
  readonly files: FileStore;
  readonly queue: JobQueue;
  readonly pool: WorkerPool;
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
  private readonly uploadDir: string;

  constructor(private readonly deps: IngestServiceDeps, private readonly options: IngestServiceOptions) {
    this.uploadDir = resolve(options.dataDir, 'uploads');
  }

  async start(): Promise<void> {
    await mkdir(this.uploadDir, { recursive: true });
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
    if (upload.bytes.byteLength > this.options.maxFileBytes) {
      throw new SwitchyardError(ErrorCode.FILE_TOO_LARGE, `the file is larger than ${this.options.maxFileBytes} bytes`);
    }
    if (this.deps.embeddings.needsApiKey && !(await this.deps.keys.resolve(upload.owner.userId))) {
      throw new SwitchyardError(ErrorCode.EMBEDDING_KEY_MISSING, 'the embedding provider needs an API key: set one with PUT /api/embedding/key');
    }
    const id = randomUUID();
    const path = join(this.uploadDir, id);
    await writeFile(path, upload.bytes);
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
    await rm(file.path, { force: true });
  }

  async query(q: { collection: string; query: string; k: number }, principal: Principal): Promise<ChunkHit[]> {
    const apiKey = this.deps.embeddings.needsApiKey ? await this.deps.keys.resolve(principal.userId) : null;
    if (this.deps.embeddings.needsApiKey && !apiKey) {
      throw new SwitchyardError(ErrorCode.EMBEDDING_KEY_MISSING, 'the embedding provider needs an API key: set one with PUT /api/embedding/key');
    }
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
    const apiKey = this.deps.embeddings.needsApiKey ? await this.deps.keys.resolve(userId) : null;
    if (this.deps.embeddings.needsApiKey && !apiKey) {
      throw new PermanentJobError(ErrorCode.EMBEDDING_KEY_MISSING, 'no embedding API key is set for the file\'s owner');
    }
    const kind = detectKind(file.name, file.contentType);
    if (!kind) throw new PermanentJobError(ErrorCode.FILE_UNSUPPORTED, `${file.name} has an unsupported type`);
    const { chunks } = await this.deps.pool.run<PrepareResult>(
      {
        kind: 'prepare',
        path: file.path,
        name: file.name,
        fileKind: kind,
        limits: { maxFileBytes: this.options.maxFileBytes, maxPages: this.options.maxPages },
        chunking: this.options.chunking,
      },
      job.signal,
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
    await this.deps.files.replaceChunks(
      fileId,
      chunks.map((c, index) => ({ index, text: c.text, metadata: c.metadata, embedding: vectors[index]! })),
      { name: this.deps.embeddings.space, dimensions: vectors[0]?.length ?? 0 },
    );
    await this.update(file, { status: 'finished', progress: 1, chunks: chunks.length, error: null });
  }

  private async onOutcome(job: Pick<JobContext, 'data' | 'attempt'>, outcome: JobOutcome): Promise<void> {
    if (outcome.state === 'finished') return; // written by the processor itself, before the job settles
    const file = await this.deps.files.getFile(job.data.fileId);
    if (!file) return;
    const progress = outcome.state === 'deferred' ? 0 : file.progress;
    await this.update(file, { status: outcome.state, error: outcome.error, attempts: job.attempt, progress });
    if (outcome.state === 'failed') this.deps.log.warn({ fileId: file.id, attempts: job.attempt, error: outcome.error }, 'ingestion failed');
  }

  private async update(file: FileRecord, patch: Parameters<FileStore['updateFile']>[1]): Promise<void> {
    const next = await this.deps.files.updateFile(file.id, patch);
    if (!next) return;
    const event: FileStatusEvent = { file_id: next.id, status: next.status, progress: Math.round(next.progress * 100) / 100 };
    this.deps.notify(next.ownerId, next.error ? { ...event, error: next.error } : event);
  }
}
