import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { MemoryMessageBus } from '../src/coordination/memory/MemoryMessageBus.js';
import { silentLogger } from '../src/observability/logger.js';
import { Connection, type ConnectionEnv } from '../src/gateway/Connection.js';
import { JsonDialect } from '../src/gateway/Dialect.js';
import { GatewayMetrics } from '../src/gateway/GatewayMetrics.js';
import { RoomHub } from '../src/gateway/RoomHub.js';
import { loadUws } from '../src/gateway/uws.js';
import { waitFor } from './helpers/wait.js';

describe('RoomHub: one bus handler for every room topic', () => {
  it('a room released and reopened in one step keeps its subscription; released for good, it drops it', async () => {
    const log = silentLogger();
    const bus = new MemoryMessageBus(log);
    const metrics = new GatewayMetrics(new Registry(), { connections: () => 0, rooms: () => 0, native: true });
    const app = loadUws().uws.App();
    const hub = new RoomHub(app, bus, 'inst-a', metrics, log, [JsonDialect], () => []);
    const env: ConnectionEnv = { dialect: JsonDialect, limits: { maxBackpressureBytes: 1, messagesPerSecond: 1, messageBurst: 1, maxRateViolations: 1 }, metrics, log };
    // A socket's own user room is delivered through its user's sockets: joining it never touches the uWS handle.
    const alice = () => new Connection(null as never, { sid: 's', principal: { userId: 'alice', name: 'alice', role: 'user' }, ip: '127.0.0.1' }, env, 0);
    const first = alice();
    await hub.join(first, 'user:alice');
    assert.equal(bus.topicCount(), 1);
    // The last socket closes and a new one opens before the release's unsubscribe step ran.
    hub.leaveAll(first);
    const second = alice();
    await hub.join(second, 'user:alice');
    await new Promise((resolve) => setImmediate(resolve)); // every pending unsubscribe step has run
    assert.equal(bus.topicCount(), 1, 'room:user:alice is still subscribed for the new socket');
    hub.leaveAll(second);
    await waitFor(() => bus.topicCount() === 0, { what: 'unsubscribed with its last member' });
    await hub.close();
  });
});
