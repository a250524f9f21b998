import assert from "node:assert/strict";
import { AddressLimits } from "../../lib/hub/address_limits.ts";
import { TokenBucket } from "../../lib/shared/token_bucket.ts";

function limits(overrides: Partial<ConstructorParameters<typeof AddressLimits>[0]> = {}) {
  let now = 0;
  const table = new AddressLimits({
    maxConnections: 2,
    handshakeRate: 1,
    handshakeBurst: 3,
    newRoomsPerMinute: 2,
    messageRate: 10,
    messageBurst: 5,
    now: () => now,
    ...overrides,
  });
  return { table, advance: (ms: number) => (now += ms) };
}

Deno.test("token bucket: burst, refill, wait and full", () => {
  let now = 0;
  const bucket = new TokenBucket(2, 3, () => now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [
    true,
    true,
    true,
    false,
  ]);
  assert.equal(bucket.waitMs(), 500);
  assert.equal(bucket.full(), false);
  now += 500;
  assert.equal(bucket.take(), true, "one token after 1 / rate");
  now += 10_000;
  assert.equal(bucket.full(), true, "refilled up to the burst, not beyond");
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [
    true,
    true,
    true,
    false,
  ]);
});

Deno.test("address limits: handshakes past the burst are refused 429 with when to retry", () => {
  const { table, advance } = limits();
  const entry = table.entry("127.0.0.2");
  for (let i = 0; i < 3; i++) assert.equal(table.handshake(entry), null, `handshake ${i + 1}`);
  const refused = table.handshake(entry)!;
  assert.equal(refused.status, 429);
  assert.equal(refused.metric, "handshake_rate_ip");
  assert.equal(refused.retryAfterSeconds, 1);
  assert.match(refused.reason, /at most 1 per second; retry in 1 s/);
  assert.equal(table.handshake(table.entry("127.0.0.3")), null, "another address is not concerned");
  advance(1000);
  assert.equal(table.handshake(entry), null, "one more a second later");
});

Deno.test("address limits: connections are counted up to the cap and released", () => {
  const { table } = limits();
  const entry = table.entry("10.0.0.1");
  assert.equal(table.connect(entry), null);
  entry.connections = 2;
  const refused = table.connect(entry)!;
  assert.deepEqual([refused.status, refused.metric], [429, "handshake_connections_ip"]);
  assert.match(refused.reason, /too many connections from your address \(at most 2\)/);
  table.release(entry);
  assert.equal(table.connect(entry), null, "a freed slot is usable again");
});

Deno.test("address limits: new rooms per minute, refilled over the minute", () => {
  const { table, advance } = limits();
  const entry = table.entry("10.0.0.1");
  assert.equal(table.newRoom(entry), null);
  assert.equal(table.newRoom(entry), null);
  const refused = table.newRoom(entry)!;
  assert.equal(refused.metric, "handshake_new_rooms_ip");
  assert.equal(refused.retryAfterSeconds, 30, "2 per minute: one every 30 s");
  advance(30_000);
  assert.equal(table.newRoom(entry), null);
});

Deno.test("address limits: the message bucket is one per address, shared by its connections", () => {
  const { table } = limits();
  const a = table.entry("10.0.0.1");
  assert.equal(table.entry("10.0.0.1").messages, a.messages, "the same bucket every time");
  let taken = 0;
  while (a.messages.take()) taken++;
  assert.equal(taken, 5);
});

Deno.test("address limits: idle addresses are forgotten; the table is bounded", () => {
  const { table, advance } = limits({ maxTracked: 3 });
  const busy = table.entry("10.0.0.1");
  busy.connections = 1;
  table.handshake(table.entry("10.0.0.2"));
  table.entry("10.0.0.3");
  table.entry("10.0.0.4"); // past maxTracked: the oldest idle one goes
  assert.equal(table.size, 3);
  assert.equal(table.entry("10.0.0.1"), busy, "an address with connections is kept");
  advance(60_000);
  table.sweep();
  assert.equal(table.size, 1, "only the address with a connection is left after a sweep");
});

Deno.test("address limits: past maxTracked the least recently seen idle address goes; a closed one rejoins the order", () => {
  const { table } = limits({ maxTracked: 3 });
  const a = table.entry("10.0.0.1");
  const b = table.entry("10.0.0.2");
  const c = table.entry("10.0.0.3");
  table.entry("10.0.0.1"); // a seen again: b is now the least recently seen
  table.entry("10.0.0.4");
  assert.equal(table.size, 3);
  assert.notEqual(table.entry("10.0.0.1"), undefined);
  assert.equal(table.entry("10.0.0.1"), a, "a kept");
  // b went: asking for it again makes a new entry (and forgets the oldest idle one, c).
  assert.notEqual(table.entry("10.0.0.2"), b, "b was forgotten");
  assert.notEqual(table.entry("10.0.0.3"), c, "c went for the new b");

  // Connected addresses are never forgotten; when their last connection closes they may be,
  // in the order they closed.
  const { table: t2 } = limits({ maxTracked: 3 });
  const x = t2.entry("x");
  const y = t2.entry("y");
  x.connections = 1;
  y.connections = 1;
  for (let i = 0; i < 100; i++) t2.entry(`new-${i}`); // newcomers only push each other out
  assert.equal(t2.size, 3);
  assert.equal(t2.entry("x"), x);
  assert.equal(t2.entry("y"), y);
  t2.release(y);
  t2.release(x);
  t2.entry("z1"); // forgets the last newcomer, then y (closed first), then x
  t2.entry("z2");
  assert.equal(t2.size, 3);
  assert.notEqual(t2.entry("y"), y, "y closed first: forgotten first");
});

Deno.test("address limits: thousands of newcomers past maxTracked with many connected addresses keep the table bounded", () => {
  const { table } = limits({ maxTracked: 500 });
  const held = Array.from({ length: 400 }, (_, i) => {
    const e = table.entry(`held-${i}`);
    e.connections = 1;
    return e;
  });
  for (let i = 0; i < 20_000; i++) {
    table.entry(`new-${i}`);
    if (i % 7 === 0) table.entry(`held-${i % 400}`); // the connected ones come back now and then
    assert.ok(table.size <= 500, `size ${table.size} at ${i}`);
  }
  for (const [i, e] of held.entries()) assert.equal(table.entry(`held-${i}`), e, `held-${i} kept`);
});
