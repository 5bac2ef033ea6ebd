import * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { awarenessTopic, DocConnection } from './DocConnection.js';
import type { DocActorDeps } from './DocMessages.js';
import type { DocOutbox } from './DocOutbox.js';
import * as P from './protocol.js';

/**
 * Who is present in one open document and where their cursors are: the y-protocols
 * Awareness of the server's replica (the server itself is not a participant). What
 * changes is broadcast to the local sockets, echoed to the sender too, and relayed to
 * the other instances on the bus unless it came from one (awareness is ephemeral: no
 * log, clients renew their state every 15 s). Each connection remembers the client
 * ids it announced, so its states go for everyone when it closes.
 */
export class DocAwareness {
  private readonly awareness: awarenessProtocol.Awareness;

  constructor(
    doc: Y.Doc,
    private readonly docId: string,
    private readonly deps: Pick<DocActorDeps, 'bus' | 'instanceId' | 'stats'>,
    private readonly outbox: DocOutbox,
  ) {
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState(null);
    this.awareness = awareness;
    deps.stats.awareness += 1;
    awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      if (origin instanceof DocConnection) {
        for (const id of [...added, ...updated]) origin.awarenessIds.add(id);
        for (const id of removed) origin.awarenessIds.delete(id);
      }
      const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [...added, ...updated, ...removed]);
      // Echoed to the sender too: a lone y-websocket client reconnects after 30 s without a message.
      this.outbox.broadcast(P.encodeAwarenessUpdate(update));
      if (origin !== 'remote') this.relay(update);
    });
  }

  /** Subscribes to the other instances' updates, handed to `deliver` (the actor's mailbox); returns the unsubscribe. */
  subscribeRemote(deliver: (update: Uint8Array) => void): () => Promise<void> {
    const sub = this.deps.bus.subscribe(awarenessTopic(this.docId), (payload) => {
      const msg = JSON.parse(payload) as { o: string; u: string };
      if (msg.o !== this.deps.instanceId) deliver(Buffer.from(msg.u, 'base64'));
    });
    return () => sub.then((off) => off()).catch(() => {});
  }

  private relay(update: Uint8Array): void {
    const payload = JSON.stringify({ o: this.deps.instanceId, u: Buffer.from(update).toString('base64') });
    this.deps.bus.publish(awarenessTopic(this.docId), payload).catch(() => {}); // ephemeral; renewed every 15 s
  }

  /** An awareness update from a local client; throws when it does not apply. */
  fromClient(conn: DocConnection, update: Uint8Array): void {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, conn);
  }

  /** An awareness update relayed by another instance. */
  fromRemote(update: Uint8Array): void {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, 'remote');
  }

  /** Client states known (a joining socket is sent them when there are any). */
  get size(): number {
    return this.awareness.getStates().size;
  }

  /** Every known state as one awareness message. */
  encodeAll(): Uint8Array {
    return P.encodeAwareness(this.awareness, [...this.awareness.getStates().keys()]);
  }

  /** The connection closed: the states it announced are removed for everyone. */
  leave(conn: DocConnection): void {
    if (conn.awarenessIds.size > 0) awarenessProtocol.removeAwarenessStates(this.awareness, [...conn.awarenessIds], 'close');
  }

  destroy(): void {
    this.awareness.destroy();
    this.deps.stats.awareness -= 1;
  }
}
