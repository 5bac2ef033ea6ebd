import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { checkUpdate } from './checkUpdate.js';

/** Outer message types of the y-websocket protocol (y-protocols). */
export enum MessageType {
  Sync = 0,
  Awareness = 1,
  Auth = 2,
  QueryAwareness = 3,
}

/** Inner types of a Sync message. */
export enum SyncType {
  Step1 = 0,
  Step2 = 1,
  Update = 2,
}

/** Closes the document socket initiates. 4xxx are switchyard's own (RFC 6455 application range). */
export const DocCloseCodes = Object.freeze({
  GOING_AWAY: { code: 1001, reason: 'server going away' },
  /** Not a y-websocket message, truncated, or an update that does not apply. */
  INVALID_MESSAGE: { code: 4400, reason: 'invalid document message' },
  /** Signed in, but not on the document's access list. */
  FORBIDDEN: { code: 4403, reason: 'no access to this document' },
  NOT_FOUND: { code: 4404, reason: 'no such document' },
  /** The document's mailbox is full: the client sends faster than it is applied. */
  OVERLOADED: { code: 4429, reason: 'document overloaded' },
  /** An update would grow the document past docs.maxDocumentBytes; it was not applied. */
  TOO_LARGE: { code: 4413, reason: 'document too large' },
  /** The socket sent more frames than its token bucket allows (docs.messagesPerSecond). */
  RATE_LIMITED: { code: 4430, reason: 'too many document messages' },
  /** The stored state could not be loaded; nothing is accepted until it can be. */
  UNAVAILABLE: { code: 4503, reason: 'document unavailable' },
} as const);

/** One decoded client frame. `update` for Sync step2/update; `stateVector` for step1. */
export type IncomingMessage =
  | { readonly type: MessageType.Sync; readonly sync: SyncType.Step1; readonly stateVector: Uint8Array }
  | { readonly type: MessageType.Sync; readonly sync: SyncType.Step2 | SyncType.Update; readonly update: Uint8Array }
  | { readonly type: MessageType.Awareness; readonly update: Uint8Array }
  | { readonly type: MessageType.QueryAwareness }
  | { readonly type: MessageType.Auth };

/**
 * Decodes one frame completely, so a malformed one is refused before it touches
 * the document: random bytes, truncated messages, trailing garbage and Yjs updates
 * that do not parse all throw here.
 */
export function decodeMessage(frame: Uint8Array): IncomingMessage {
  const d = decoding.createDecoder(frame);
  const type = decoding.readVarUint(d);
  let msg: IncomingMessage;
  switch (type) {
    case MessageType.Sync: {
      const sync = decoding.readVarUint(d);
      const payload = decoding.readVarUint8Array(d);
      if (sync === SyncType.Step1) {
        Y.decodeStateVector(payload);
        msg = { type, sync, stateVector: payload };
      } else if (sync === SyncType.Step2 || sync === SyncType.Update) {
        checkUpdate(payload); // reads every struct and the delete set; throws where Yjs would
        msg = { type, sync, update: payload };
      } else {
        throw new Error(`unknown sync message type ${sync}`);
      }
      break;
    }
    case MessageType.Awareness: {
      const update = decoding.readVarUint8Array(d);
      validateAwareness(update);
      msg = { type, update };
      break;
    }
    case MessageType.QueryAwareness:
      msg = { type };
      break;
    case MessageType.Auth:
      decoding.readVarUint(d);
      msg = { type };
      break;
    default:
      throw new Error(`unknown message type ${type}`);
  }
  if (decoding.hasContent(d)) throw new Error('trailing bytes after the message');
  return msg;
}

/** An awareness update is [n, (clientID, clock, JSON state)×n]; applyAwarenessUpdate would throw midway. */
function validateAwareness(update: Uint8Array): void {
  const d = decoding.createDecoder(update);
  const n = decoding.readVarUint(d);
  for (let i = 0; i < n; i++) {
    decoding.readVarUint(d);
    decoding.readVarUint(d);
    JSON.parse(decoding.readVarString(d));
  }
  if (decoding.hasContent(d)) throw new Error('trailing bytes after the awareness update');
}

/** True when an update carries no structs and no deletions (e.g. a reader's empty sync step 2). */
/** Whether a frame is an awareness message, read from its first byte (the type varint, < 128) without decoding it. */
export function isAwarenessFrame(frame: Uint8Array): boolean {
  return frame.byteLength > 0 && frame[0] === MessageType.Awareness;
}

/** The empty update `[0, 0]` (what a client in sync sends as its sync step 2), without decoding: for the hot path. */
export function isNoOpUpdate(update: Uint8Array): boolean {
  return update.byteLength === 2 && update[0] === 0 && update[1] === 0;
}

export function isEmptyUpdate(update: Uint8Array): boolean {
  const { structs, ds } = Y.decodeUpdate(update);
  return structs.length === 0 && ds.clients.size === 0;
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Sync);
  syncProtocol.writeSyncStep1(e, doc);
  return encoding.toUint8Array(e);
}

export function encodeSyncStep2(doc: Y.Doc, stateVector?: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Sync);
  syncProtocol.writeSyncStep2(e, doc, stateVector);
  return encoding.toUint8Array(e);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Sync);
  syncProtocol.writeUpdate(e, update);
  return encoding.toUint8Array(e);
}

export function encodeAwareness(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  return encodeAwarenessUpdate(awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
}

export function encodeAwarenessUpdate(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Awareness);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

/** y-websocket's "permission denied" auth message; the stock client logs the reason. */
export function encodePermissionDenied(reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Auth);
  encoding.writeVarUint(e, 0);
  encoding.writeVarString(e, reason);
  return encoding.toUint8Array(e);
}
