import type { LeaseLock, MessageBus } from '../coordination/ports.js';
import type { DocumentLog, LogEntry } from '../coordination/DocumentLog.js';
import type { NoteRelay } from '../http/notes.js';
import type { Logger } from '../observability/logger.js';
import type { DocumentRecord, DocumentStore } from '../storage/ports.js';
import type { Compactor } from './compact.js';
import type { DocConnection } from './DocConnection.js';
import type { DocMetrics } from './DocMetrics.js';
import type { PersistenceOptions } from './DocPersistence.js';
import type { DocStats } from './DocStats.js';
import type { RelayClock } from './RelayWindow.js';
import type { NoteMessage, NoteReply } from './notes/NoteSessions.js';

/** The messages a document actor takes, its replies, and what it may touch (DocumentActor.ts). */

export type DocMessage =
  | { readonly type: 'open'; readonly conn: DocConnection }
  | { readonly type: 'frame'; readonly conn: DocConnection; readonly data: Uint8Array }
  | { readonly type: 'close'; readonly conn: DocConnection }
  /** Applies the accepted client updates waiting for the Y.Doc. */
  | { readonly type: 'settle' }
  | { readonly type: 'remote'; readonly entries: readonly LogEntry[] }
  | { readonly type: 'gap' }
  | { readonly type: 'awareness-remote'; readonly update: Uint8Array }
  | { readonly type: 'persist' }
  | { readonly type: 'keepalive' }
  | { readonly type: 'snapshot' }
  | NoteMessage
  | { readonly type: 'deleted' };

export type { NoteReply };

export interface DocSnapshotReply {
  readonly record: DocumentRecord;
  readonly text: Record<string, string>;
  /** The latest content snapshot of a Socket.IO note client, while the document is loaded. */
  readonly content?: unknown;
}

/** What a document actor may touch: ports and its own instance's counters, not the runtime. */
export interface DocActorDeps {
  readonly instanceId: string;
  readonly storage: DocumentStore;
  readonly log: DocumentLog;
  readonly lock: LeaseLock;
  readonly bus: MessageBus;
  readonly metrics: DocMetrics;
  readonly stats: DocStats;
  readonly logger: Logger;
  readonly persistence: PersistenceOptions;
  /** Ends the relay windows of every document of this instance (docs.relayWindowMs; RelayWindow). */
  readonly relayClock: RelayClock;
  /** Client updates that would grow the document past this many bytes are refused (docs.maxDocumentBytes). */
  readonly maxDocumentBytes: number;
  /** Delivers a message to this document's actor from outside its turns (log reader, bus). */
  readonly tell: (docId: string, msg: DocMessage) => void;
  readonly compact: Compactor;
  /** Where updates of this instance's y-websocket clients go for Socket.IO note sockets (docs/notes). */
  readonly noteRelay?: NoteRelay;
}
