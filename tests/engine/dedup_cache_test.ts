/**
 * `RefLedger` and `DedupCache` against a plain model (a list of refs in order and a map per room):
 * random sets, gets and sweeps over two rooms, with a bound, a TTL, keys set again, the ring
 * growing and its sequence numbers wrapping (a span of 1024 in the test).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type AckRecord, DedupCache, RefLedger } from "../../lib/engine/dedup_cache.ts";

/** The model: every ref in the order remembered, and each room's newest ref per key. */
class Model {
  order: { room: number; key: string; record: AckRecord; at: number }[] = [];
  rooms = [new Map<string, (typeof this.order)[number]>(), new Map()];
  forgotten = 0;
  forgottenUntil = [0, 0];
  constructor(readonly ttl: number, readonly max: number) {}

  #drop(lifeLeft: number): boolean {
    const ref = this.order.shift()!;
    const map = this.rooms[ref.room];
    if (map.get(ref.key) !== ref) return false;
    map.delete(ref.key);
    if (lifeLeft > 0) {
      this.forgottenUntil[ref.room] = Math.max(this.forgottenUntil[ref.room], ref.at + lifeLeft);
    }
    return true;
  }

  sweep(now: number): void {
    while (this.order.length > 0 && now - this.order[0].at > this.ttl) this.#drop(0);
  }

  set(room: number, key: string, record: AckRecord, now: number): void {
    this.sweep(now);
    while (this.order.length >= this.max) if (this.#drop(this.ttl)) this.forgotten++;
    const ref = { room, key, record, at: now };
    this.order.push(ref);
    this.rooms[room].set(key, ref);
  }

  get(room: number, key: string, now: number): AckRecord | undefined {
    const ref = this.rooms[room].get(key);
    return ref && now - ref.at <= this.ttl ? ref.record : undefined;
  }
}

type Op =
  | { kind: "set"; room: number; key: number; dt: number }
  | { kind: "sweep"; dt: number };

/** Operations over `keys + 1` keys per room: few keys are set again often, many fill the table. */
const ops = (keys: number): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant("set" as const),
          room: fc.nat(1),
          key: fc.nat(keys),
          dt: fc.nat(30),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant("sweep" as const), dt: fc.nat(300) }),
      },
    ),
    { minLength: 1200, maxLength: 3000 },
  );

for (const keys of [40, 3000]) {
  Deno.test(`RefLedger and DedupCache behave as the model: bound, TTL, keys set again, growth, wrapping (${keys + 1} keys per room)`, () => {
    fc.assert(
      fc.property(ops(keys), fc.integer({ min: 1, max: 1500 }), (list, max) => {
        const ttl = 500;
        const ledger = new RefLedger(ttl, max, 1024);
        const caches = [new DedupCache(ttl, ledger), new DedupCache(ttl, ledger)];
        const model = new Model(ttl, Math.min(max, 1024));
        let now = 0;
        let n = 0;
        for (const o of list) {
          now += o.dt;
          if (o.kind === "sweep") {
            ledger.sweep(now);
            model.sweep(now);
          } else {
            const record = { offset: ++n, ts: now - 1, hash: 2 ** 52 + n };
            caches[o.room].set(`k${o.key}`, record, now);
            model.set(o.room, `k${o.key}`, record, now);
          }
          assert.equal(ledger.size, model.order.length);
          assert.equal(ledger.forgotten, model.forgotten);
        }
        for (const room of [0, 1]) {
          assert.equal(caches[room].size, model.rooms[room].size, `room ${room}'s size`);
          assert.equal(caches[room].forgottenUntil, model.forgottenUntil[room]);
          for (let key = 0; key <= keys; key++) {
            assert.deepEqual(caches[room].get(`k${key}`, now), model.get(room, `k${key}`, now));
          }
        }
      }),
      { numRuns: keys > 100 ? 60 : 200 },
    );
  });
}

Deno.test("RefLedger: seqSpan must be a power of two from 1024 to 2^30", () => {
  assert.throws(
    () => new RefLedger(1000, 10, 1000),
    /seqSpan must be a power of two from 1024 to 1073741824, got 1000/,
  );
  assert.throws(() => new RefLedger(1000, 10, 512), /got 512/);
  assert.throws(() => new RefLedger(1000, 10, 2 ** 31), /got 2147483648/);
  assert.equal(new RefLedger(1000, 10, 2048).seqSpan, 2048);
});
