import { fork, type ChildProcess } from 'node:child_process';

/**
 * Request/reply over a forked child's IPC channel: the bench's load generators run in
 * their own processes so their CPU is not charged to (or taken from) the server measured.
 */
interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

export class RpcChild<Req> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly child: ChildProcess;

  constructor(script: string | URL, execArgv: string[] = []) {
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    const reap = () => this.child.kill('SIGKILL');
    process.once('exit', reap);
    this.child.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) p?.resolve(reply.value);
      else p?.reject(new Error(reply.error));
    });
    this.child.once('exit', (code, signal) => {
      process.off('exit', reap);
      for (const p of this.pending.values()) p.reject(new Error(`load process exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T>(request: Req): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  /** Ends the child: a disconnect makes serveRpc's process exit; SIGKILL if it lingers. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** The child side: answers each request with `handle`'s result; exits when the parent disconnects. */
export function serveRpc<Req>(handle: (request: Req) => Promise<unknown>): void {
  process.on('message', (msg: { id: number; request: Req }) => {
    handle(msg.request).then(
      (value) => process.send!({ id: msg.id, ok: true, value } satisfies Reply),
      (err: unknown) => process.send!({ id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies Reply),
    );
  });
  process.once('disconnect', () => process.exit(0));
}
