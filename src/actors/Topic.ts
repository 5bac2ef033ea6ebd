/**
 * A tiny synchronous observable. A listener that throws is reported to `onListenerError`
 * and never breaks delivery to the others or the actor that emitted.
 */
export class Topic<E> {
  private listeners: ((event: E) => void)[] = [];

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  get hasListeners(): boolean {
    return this.listeners.length > 0;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (event: E) => void): () => void {
    this.listeners = [...this.listeners, listener]; // copy-on-write: emit may be iterating
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: E): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
