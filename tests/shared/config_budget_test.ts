import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";

const MiB = 1024 * 1024;

Deno.test("config: the memory budgets derive from MEMORY_LIMIT_MB", () => {
  const c = loadConfig({});
  assert.equal(c.memoryLimitMb, 1024);
  assert.equal(c.historyBytes, 307 * MiB, "30 % for history");
  assert.equal(c.roomHistoryBytes, 9 * MiB, "a 32nd of that per room");
  assert.equal(c.sendQueueBytes, 204 * MiB, "20 % for send queues");
  assert.equal(c.inboundBytes, 102 * MiB, "10 % for incoming messages");
  assert.equal(c.maxRooms, 102_400, "100 rooms per MiB");
  const small = loadConfig({ MEMORY_LIMIT_MB: "128" });
  assert.deepEqual(
    [small.historyBytes, small.roomHistoryBytes, small.sendQueueBytes, small.inboundBytes],
    [38 * MiB, 1 * MiB, 25 * MiB, 12 * MiB],
  );
  assert.equal(small.maxRooms, 12_800);
  assert.equal(c.maxConnections, 10_000, "10 per MiB, at most 10 000 by default");
  assert.equal(small.maxConnections, 1280);
  assert.equal(c.maxTrackedAddresses, 102_400);
  assert.equal(loadConfig({ MAX_TRACKED_ADDRESSES: "1" }).maxTrackedAddresses, 1);
  assert.throws(() => loadConfig({ MAX_TRACKED_ADDRESSES: "0" }), /MAX_TRACKED_ADDRESSES .* "0"/);
});

Deno.test("config: each budget can be set on its own, within MEMORY_LIMIT_MB", () => {
  const c = loadConfig({
    MEMORY_LIMIT_MB: "256",
    HISTORY_MEMORY_MB: "256",
    ROOM_HISTORY_MB: "256",
    SEND_QUEUE_MEMORY_MB: "1",
    INBOUND_MEMORY_MB: "256",
    MAX_ROOMS: "1",
  });
  assert.deepEqual(
    [c.historyBytes, c.roomHistoryBytes, c.sendQueueBytes, c.inboundBytes, c.maxRooms],
    [256 * MiB, 256 * MiB, MiB, 256 * MiB, 1],
  );
  assert.throws(
    () => loadConfig({ MEMORY_LIMIT_MB: "256", HISTORY_MEMORY_MB: "257" }),
    /HISTORY_MEMORY_MB must be an integer from 1 to 256, got "257"/,
  );
  assert.throws(
    () => loadConfig({ HISTORY_MEMORY_MB: "10", ROOM_HISTORY_MB: "11" }),
    /ROOM_HISTORY_MB must be an integer from 1 to 10, got "11"/,
  );
  assert.throws(
    () => loadConfig({ MEMORY_LIMIT_MB: "64", SEND_QUEUE_MEMORY_MB: "65" }),
    /SEND_QUEUE_MEMORY_MB must be an integer from 1 to 64, got "65"/,
  );
  assert.throws(() => loadConfig({ MEMORY_LIMIT_MB: "63" }), /MEMORY_LIMIT_MB .* from 64 .* "63"/);
  assert.throws(() => loadConfig({ MAX_ROOMS: "0" }), /MAX_ROOMS must be an integer from 1/);
});

Deno.test("config: per-address limits and HTTP limits have defaults and bounds", () => {
  const c = loadConfig({});
  assert.deepEqual(
    [
      c.maxConnectionsPerIp,
      c.handshakeRatePerIp,
      c.handshakeBurstPerIp,
      c.newRoomsPerMinutePerIp,
      c.rateLimitPerIp,
      c.rateBurstPerIp,
    ],
    [64, 10, 30, 30, 100, 200],
  );
  assert.deepEqual(
    [c.requestTimeoutMs, c.keepAliveTimeoutMs, c.maxHeaderBytes, c.maxBodyBytes, c.closeTimeoutMs],
    [10_000, 5000, 16 * 1024, MiB, 2000],
  );
  assert.deepEqual(c.trustProxy, { kind: "off" });
  for (const name of ["MAX_CONNECTIONS_PER_IP", "HANDSHAKE_RATE_PER_IP", "RATE_LIMIT_PER_IP"]) {
    assert.equal(Object.values(loadConfig({ [name]: "1" })).includes(1), true, name);
    assert.throws(
      () => loadConfig({ [name]: "0" }),
      new RegExp(`${name} must be an integer from 1`),
    );
  }
  assert.equal(loadConfig({ MAX_HEADER_BYTES: "1024" }).maxHeaderBytes, 1024);
  assert.throws(() => loadConfig({ MAX_HEADER_BYTES: "1023" }), /MAX_HEADER_BYTES .* "1023"/);
  assert.equal(loadConfig({ REQUEST_TIMEOUT_MS: "100" }).requestTimeoutMs, 100);
  assert.throws(() => loadConfig({ REQUEST_TIMEOUT_MS: "99" }), /REQUEST_TIMEOUT_MS .* "99"/);
});

Deno.test("config: TRUST_PROXY is off, X-Forwarded-For (1) or a header name", () => {
  assert.deepEqual(loadConfig({ TRUST_PROXY: "0" }).trustProxy, { kind: "off" });
  assert.deepEqual(loadConfig({ TRUST_PROXY: "1" }).trustProxy, { kind: "forwarded-for" });
  assert.deepEqual(loadConfig({ TRUST_PROXY: "X-Real-IP" }).trustProxy, {
    kind: "header",
    name: "x-real-ip",
  });
  assert.throws(
    () => loadConfig({ TRUST_PROXY: "x real ip" }),
    /TRUST_PROXY must be 0, 1 \(X-Forwarded-For\) or a header name .* got "x real ip"/,
  );
});

Deno.test("config: REDIS_PING_INTERVAL_MS and SLOW_CONSUMER_GRACE_MS have defaults and bounds", () => {
  const c = loadConfig({});
  assert.deepEqual([c.redisPingIntervalMs, c.slowConsumerGraceMs], [2000, 1000]);
  assert.equal(loadConfig({ REDIS_PING_INTERVAL_MS: "100" }).redisPingIntervalMs, 100);
  assert.throws(
    () => loadConfig({ REDIS_PING_INTERVAL_MS: "99" }),
    /REDIS_PING_INTERVAL_MS .* "99"/,
  );
  assert.equal(loadConfig({ SLOW_CONSUMER_GRACE_MS: "10" }).slowConsumerGraceMs, 10);
  assert.throws(() => loadConfig({ SLOW_CONSUMER_GRACE_MS: "9" }), /SLOW_CONSUMER_GRACE_MS .* "9"/);
});
