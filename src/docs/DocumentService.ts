import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import { ActorStoppedError } from '../errors.js';
import type { Feature } from '../Feature.js';
import type { WebHost } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import type { DocumentStore } from '../storage/ports.js';
import type { DocumentLog } from '../coordination/DocumentLog.js';
import { DocMetrics } from './DocMetrics.js';
import { DocumentActor, type DocMessage, type DocSnapshotReply } from './DocumentActor.js';
import { DocStats } from './DocStats.js';
import { DocumentSocket, type RateLimitFactory } from './DocumentSocket.js';
import { RelayClock } from './RelayWindow.js';
import { registerDocRoutes } from './routes.js';
import { compact, type Compactor } from './compact.js';
import { NoteBridge } from './notes/NoteBridge.js';

export interface DocumentServiceDeps {
  readonly config: Config;
  readonly instanceId: string;
  readonly actors: ActorSystem;
  readonly storage: DocumentStore;
  readonly coordination: Coordination;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Merges update logs (in the worker pool when one is given). @default inline */
  readonly compact?: Compactor;
  /** Per-socket frame limit of `/doc` sockets (docs.messagesPerSecond / messageBurst). */
  readonly rateLimit: RateLimitFactory;
}

/** The actor kind of documents: `doc:<id>`. */
export const DOC_KIND = 'doc';

/** Bus topic announcing a deleted document (payload: its id) to every instance. */
const DELETED_TOPIC = 'docs:deleted';

/**
 * Collaborative documents (SPEC §5 "Documents"): registers the `doc` actor kind,
 * the `/doc/<id>` socket and the `/api/docs` routes. The cross-instance update log
 * is the coordination backend's (`coordination.docLog`).
 */
export class DocumentService implements Feature {
  readonly name = 'docs';
  readonly stats = new DocStats();
  private socket: DocumentSocket | null = null;
  private readonly compact: Compactor;
  /** The Socket.IO notes protocol over these documents (the gateway's NotesPort). */
  readonly notes: NoteBridge;

  private constructor(private readonly deps: DocumentServiceDeps, readonly log: DocumentLog) {
    this.compact = deps.compact ?? compact;
    const { config, actors, coordination, logger } = deps;
    const metrics = new DocMetrics(deps.registry, {
      loaded: () => this.stats.loaded,
      awarenessTimers: () => this.stats.awareness,
      connections: () => this.socket?.count() ?? 0,
      maxConnectionsPerDoc: () => Math.max(0, ...this.stats.connections.values()),
    });
    const actorDeps = {
      instanceId: deps.instanceId,
      storage: deps.storage,
      log,
      lock: coordination.lock,
      bus: coordination.bus,
      metrics,
      stats: this.stats,
      logger,
      maxDocumentBytes: config.docs.maxDocumentBytes,
      relayClock: new RelayClock(config.docs.relayWindowMs, config.docs.relayBusyWindowMs),
      persistence: { debounceMs: config.docs.persistDebounceMs, maxWaitMs: config.docs.persistMaxWaitMs, leaseTtlMs: config.docs.persistLeaseTtlMs },
      tell: (docId: string, msg: DocMessage) => this.tellQuietly(docId, msg),
      compact: this.compact,
      noteRelay: (docId: string, update: Uint8Array, userId: string | null) => this.notes.relayUpdate(docId, update, userId),
    };
    this.notes = new NoteBridge({
      ask: (docId, msg) => actors.ask(DOC_KIND, docId, msg),
      loaded: (docId) => actors.has(DOC_KIND, docId),
      storage: deps.storage,
      sets: coordination.memberSets,
      sessionTtlMs: config.presence.sessionTimeoutMs,
      now: Date.now,
    });
    actors.register<DocMessage>(DOC_KIND, (docId) => new DocumentActor(docId, actorDeps, config.docs.unloadGraceMs), {
      // Unload: no sockets and no pending save for this long (passivation destroys the Y.Doc and Awareness).
      idleTimeoutMs: config.docs.unloadGraceMs,
      mailboxCapacity: config.docs.mailboxCapacity,
      overflow: 'reject',
      askTimeoutMs: 10_000,
    });
  }

  static async create(deps: DocumentServiceDeps): Promise<DocumentService> {
    const service = new DocumentService(deps, deps.coordination.docLog);
    await deps.coordination.bus.subscribe(DELETED_TOPIC, (docId) => void service.unload(docId));
    return service;
  }

  /**
   * Deletes a document (the route checked ownership): the record first, so no save or
   * load brings it back; then its actor on every instance (sockets get NOT_FOUND); then
   * its log, so a document later created with the same id starts empty.
   */
  async remove(docId: string): Promise<void> {
    await this.deps.storage.delete(docId);
    await this.unload(docId);
    await this.deps.coordination.bus.publish(DELETED_TOPIC, docId).catch((err: unknown) => {
      this.deps.logger.warn({ doc: docId, err }, 'document deletion not announced; other instances unload it when idle');
    });
    await this.log.drop(docId);
  }

  private async unload(docId: string): Promise<void> {
    if (!this.deps.actors.has(DOC_KIND, docId)) return;
    try {
      await this.deps.actors.ask(DOC_KIND, docId, { type: 'deleted' });
    } catch (err) {
      if (!(err instanceof ActorStoppedError)) this.deps.logger.warn({ doc: docId, err }, 'deleted document did not unload cleanly');
    }
    await this.deps.actors.stop(DOC_KIND, docId);
  }

  /** Adds the document socket, the REST routes and the Socket.IO notes port to the web host (before it listens). */
  attach(gateway: WebHost): void {
    this.socket = new DocumentSocket({
      gateway,
      config: this.deps.config,
      logger: this.deps.logger,
      rateLimit: this.deps.rateLimit,
      stats: this.stats,
      tell: (docId, msg) => this.deps.actors.tell(DOC_KIND, docId, msg),
    });
    this.socket.attach();
    registerDocRoutes(gateway, {
      storage: this.deps.storage,
      log: this.log,
      remove: (docId) => this.remove(docId),
      compact: this.compact,
      maxDocsPerUser: this.deps.config.limits.docsPerUser,
      liveSnapshot: (docId) =>
        this.deps.actors.has(DOC_KIND, docId) ? this.deps.actors.ask<DocSnapshotReply | null>(DOC_KIND, docId, { type: 'snapshot' }) : undefined,
    });
    gateway.useNotes(this.notes); // Socket.IO `ydoc:*` note events over the same document actors
  }

  /** Open document sockets on this instance. */
  connectionCount(): number {
    return this.socket?.count() ?? 0;
  }

  /** Shutdown, first pass: close every document socket (GOING_AWAY) so the actors can flush and unload. */
  stop(): void {
    this.socket?.closeAll();
  }

  /** After the actors stopped (their saves are done). The log is the backend's: it closes with it. */
  async close(): Promise<void> {}

  private tellQuietly(docId: string, msg: DocMessage): void {
    try {
      this.deps.actors.tell(DOC_KIND, docId, msg);
    } catch (err) {
      // Stopping, or a full mailbox: a missed log entry is re-read on the next load, awareness is renewed.
      if (!(err instanceof ActorStoppedError)) this.deps.logger.warn({ doc: docId, msg: msg.type, err }, 'document message dropped');
    }
  }
}
