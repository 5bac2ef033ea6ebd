import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import { ActorStoppedError } from '../errors.js';
import type { RouteTarget, SocketRouteTarget } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import type { DocumentStore } from '../storage/ports.js';
import type { DocumentLog } from './DocumentLog.js';
import { DocMetrics } from './DocMetrics.js';
import { DocStats, DocumentActor, type DocMessage, type DocSnapshotReply } from './DocumentActor.js';
import { DocumentSocket } from './DocumentSocket.js';
import { MemoryDocumentLog } from './MemoryDocumentLog.js';
import { RedisDocumentLog } from './RedisDocumentLog.js';
import { registerDocRoutes } from './routes.js';
import { compact, type Compactor } from './compact.js';
import type { MemberSets } from '../coordination/ports.js';
import { MemoryMemberSets } from '../coordination/memory/MemoryMemberSets.js';
import { RedisMemberSets } from '../coordination/redis/RedisMemberSets.js';
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
}

/** The actor kind of documents: `doc:<id>`. */
export const DOC_KIND = 'doc';

/**
 * Collaborative documents (SPEC §5 "Documents"): registers the `doc` actor kind,
 * the `/doc/<id>` socket and the `/api/docs` routes, and owns the cross-instance
 * update log (Redis streams in cluster mode, in-process otherwise).
 */
export class DocumentService {
  readonly stats = new DocStats();
  private socket: DocumentSocket | null = null;
  private readonly compact: Compactor;
  /** The Socket.IO notes protocol over these documents (the gateway's NotesPort). */
  readonly notes: NoteBridge;

  private constructor(private readonly deps: DocumentServiceDeps, readonly log: DocumentLog, private readonly noteSets: MemberSets) {
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
      persistence: { debounceMs: config.docs.persistDebounceMs, maxWaitMs: config.docs.persistMaxWaitMs, leaseTtlMs: config.docs.persistLeaseTtlMs },
      tell: (docId: string, msg: DocMessage) => this.tellQuietly(docId, msg),
      compact: this.compact,
      noteRelay: (docId: string, update: Uint8Array, userId: string) => this.notes.relayUpdate(docId, update, userId),
    };
    this.notes = new NoteBridge({
      ask: (docId, msg) => actors.ask(DOC_KIND, docId, msg),
      loaded: (docId) => actors.has(DOC_KIND, docId),
      storage: deps.storage,
      sets: noteSets,
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
    const log: DocumentLog =
      deps.coordination.kind === 'redis'
        ? await RedisDocumentLog.connect({ url: deps.config.redisUrl!, keyPrefix: deps.config.redisKeyPrefix, logger: deps.logger })
        : new MemoryDocumentLog();
    const noteSets: MemberSets =
      deps.coordination.kind === 'redis'
        ? await RedisMemberSets.connect({ url: deps.config.redisUrl!, keyPrefix: deps.config.redisKeyPrefix, logger: deps.logger })
        : new MemoryMemberSets();
    return new DocumentService(deps, log, noteSets);
  }

  /** Adds the document socket and REST routes to the gateway (before it listens). */
  attach(gateway: RouteTarget & SocketRouteTarget): void {
    this.socket = new DocumentSocket({
      gateway,
      config: this.deps.config,
      logger: this.deps.logger,
      tell: (docId, msg) => this.deps.actors.tell(DOC_KIND, docId, msg),
    });
    this.socket.attach();
    registerDocRoutes(gateway, {
      storage: this.deps.storage,
      log: this.log,
      compact: this.compact,
      maxDocsPerUser: this.deps.config.limits.docsPerUser,
      liveSnapshot: (docId) =>
        this.deps.actors.has(DOC_KIND, docId) ? this.deps.actors.ask<DocSnapshotReply | null>(DOC_KIND, docId, { type: 'snapshot' }) : undefined,
    });
  }

  /** Open document sockets on this instance. */
  connectionCount(): number {
    return this.socket?.count() ?? 0;
  }

  /** Shutdown step: close every document socket (GOING_AWAY) so the actors can flush and unload. */
  closeSockets(): void {
    this.socket?.closeAll();
  }

  /** After the actors stopped (their saves are done): stops reading the log. */
  async close(): Promise<void> {
    await Promise.all([this.log.close(), this.noteSets.close()]);
  }

  private tellQuietly(docId: string, msg: DocMessage): void {
    try {
      this.deps.actors.tell(DOC_KIND, docId, msg);
    } catch (err) {
      // Stopping, or a full mailbox: a missed log entry is re-read on the next load, awareness is renewed.
      if (!(err instanceof ActorStoppedError)) this.deps.logger.warn({ doc: docId, msg: msg.type, err }, 'document message dropped');
    }
  }
}
