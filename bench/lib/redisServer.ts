import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './freePort.js';
import { stopChild } from '../ws/servers.js';

/**
 * A private redis-server for one bench run (no persistence): its CPU can be read from
 * /proc next to the servers', and no other user's keys or load share it.
 */
export interface BenchRedis {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5_000;

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server listens: connect() rejects with it too
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer within ${READY_TIMEOUT_MS} ms: ${String(err)}`);
      }
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  return { host: '127.0.0.1', port, pid: child.pid!, url, stop: () => stopChild(child, 5_000) };
}
