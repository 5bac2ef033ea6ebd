import './helpers/guard.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lease } from '../src/coordination/Lease.js';
import { MemoryLeaseLock } from '../src/coordination/memory/MemoryLeaseLock.js';
import type { LeaseLock } from '../src/coordination/ports.js';
import { LeaseLostError } from '../src/errors.js';
import { sleep } from './helpers/wait.js';

test('a held lease renews while owned; another holder taking it over aborts the signal with LeaseLostError', async () => {
  const lock = new MemoryLeaseLock();
  const a = new Lease(lock, { name: 'l', owner: 'a', ttlMs: 100 });
  const b = new Lease(lock, { name: 'l', owner: 'b', ttlMs: 100 });
  const held = await a.tryAcquire();
  assert.ok(held);
  assert.equal(await b.tryAcquire(), null, 'contended');
  assert.equal(await a.renew(), true);
  await sleep(150); // a did not renew in time: the lock expired and b takes it
  const taken = await b.tryAcquire();
  assert.ok(taken && taken.fence > held.fence, 'fence grows across holders');
  assert.equal(held.signal.aborted, true, 'local expiry already marked it lost');
  assert.ok(held.signal.reason instanceof LeaseLostError);
  assert.equal(await a.renew(), false);
});

test('a renew refused by the backend aborts the signal', async () => {
  const lock = new MemoryLeaseLock();
  const a = new Lease(lock, { name: 'l', owner: 'a', ttlMs: 10_000 });
  const held = await a.tryAcquire();
  assert.ok(held);
  await lock.release('l', 'a'); // gone behind its back (e.g. Redis flushed)
  await lock.acquire('l', 'intruder', 10_000);
  assert.equal(await a.renew(), false);
  assert.equal(held.signal.aborted, true);
  assert.equal(a.held, null);
});

test('a renew that errors (backend unreachable) counts as lost: ownership cannot be confirmed', async () => {
  const inner = new MemoryLeaseLock();
  let down = false;
  const flaky: LeaseLock = {
    acquire: (...args) => inner.acquire(...args),
    renew: (...args) => (down ? Promise.reject(new Error('ECONNREFUSED')) : inner.renew(...args)),
    release: (...args) => inner.release(...args),
    holder: (...args) => inner.holder(...args),
  };
  const a = new Lease(flaky, { name: 'l', owner: 'a', ttlMs: 10_000 });
  const held = await a.tryAcquire();
  assert.ok(held);
  down = true;
  assert.equal(await a.renew(), false);
  assert.ok(held.signal.reason instanceof LeaseLostError);
});

test('release gives the lock up at once and aborts nothing twice', async () => {
  const lock = new MemoryLeaseLock();
  const a = new Lease(lock, { name: 'l', owner: 'a', ttlMs: 10_000 });
  const held = await a.tryAcquire();
  assert.ok(held);
  assert.equal(await a.release(), true);
  assert.equal(await lock.holder('l'), null);
  assert.equal(await a.release(), false);
  assert.ok(await new Lease(lock, { name: 'l', owner: 'b', ttlMs: 10_000 }).tryAcquire());
});
