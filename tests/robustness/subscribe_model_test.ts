/**
 * Model-based fuzzing of many rooms per connection: random interleavings of connects (some still
 * joining when messages flow), subscribes, unsubscribes, sends to any room, leaves, flushes and
 * ticks across three rooms. Each connection, reading its frames in order, must get every message
 * of a room from the others exactly once while it is subscribed to that room (from its welcome or
 * `subscribed` to its `unsubscribed`), in offset order, never its own, and nothing of a room it is
 * not in.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Connection } from "../../lib/hub/connection.ts";
import { fakeHub, FakeSocket } from "../helpers/fake_hub.ts";
import { envOr } from "../helpers/requires.ts";

const RUNS = Number(envOr("FUZZ_RUNS", "4000")) / 8;
const ROOMS = ["ra", "rb", "rc"];

type Action =
  | { kind: "connect"; room: number; wait: boolean }
  | { kind: "subscribe"; who: number; room: number }
  | { kind: "unsubscribe"; who: number; room: number }
  | { kind: "send"; who: number; room: number; burst: number }
  | { kind: "leave"; who: number }
  | { kind: "turn" }
  | { kind: "tick" };

const who = fc.nat(20);
const room = fc.nat(ROOMS.length - 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("connect" as const), room, wait: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("subscribe" as const), who, room }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unsubscribe" as const), who, room }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      who,
      room,
      burst: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), who }) },
  // Some connections never subscribe: their one room keeps the v1 protocol.
  { weight: 3, arbitrary: fc.constant({ kind: "turn" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "tick" as const }) },
);

interface Member {
  conn: Connection;
  socket: FakeSocket;
  left: boolean;
}

Deno.test("subscribe model: several rooms per connection, every message once while subscribed", async () => {
  let periods = 0;
  let checkedOffsets = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 10, maxLength: 80 }), async (actions) => {
      const t = fakeHub({ RATE_LIMIT: "100000", RATE_BURST: "100000", PRESENCE_INTERVAL_MS: "50" });
      const members: Member[] = [];
      const opening: Promise<void>[] = [];
      const live = () => members.filter((m) => !m.left);
      let n = 0;
      for (const a of actions) {
        if (a.kind === "connect") {
          const socket = new FakeSocket();
          const handshake = { room: ROOMS[a.room], name: null, client: null, resume: null };
          const conn = t.hub.attach(socket, handshake, true, null);
          members.push({ conn, socket, left: false });
          const open = socket.open();
          if (a.wait) await open;
          else opening.push(open);
          continue;
        }
        if (a.kind === "turn") {
          await t.turn();
          continue;
        }
        if (a.kind === "tick") {
          await t.tick();
          continue;
        }
        const alive = live();
        if (alive.length === 0) continue;
        const m = alive[a.who % alive.length];
        if (a.kind === "leave") {
          m.conn.close(1000, "bye");
          t.hub.remove(m.conn);
          m.left = true;
        } else if (a.kind === "subscribe") {
          t.hub.receive(m.conn, JSON.stringify({ type: "subscribe", room: ROOMS[a.room] }));
        } else if (a.kind === "unsubscribe") {
          t.hub.receive(m.conn, JSON.stringify({ type: "unsubscribe", room: ROOMS[a.room] }));
        } else {
          // Mostly to a room it is in (else `not_subscribed`, which reaches nobody).
          const mine = [...m.conn.subs.keys()];
          const to = a.room === 0 || mine.length === 0
            ? ROOMS[a.who % ROOMS.length]
            : mine[a.room % mine.length];
          for (let i = 0; i < a.burst; i++) {
            const text = `t${n++}`;
            t.hub.receive(m.conn, JSON.stringify({ type: "message", room: to, text }));
          }
        }
      }
      await Promise.all(opening);
      await t.tick();
      await t.turn();
      // What the engine accepted per room, in offset order.
      const log = new Map<string, { offset: number; from: string }[]>();
      for (const name of [...t.engine.roomNames()]) {
        const pos = t.engine.position(name)!;
        log.set(name, (await t.engine.recover(name, { since: 0, epoch: pos.epoch }, 0)).history);
      }
      for (const m of members) {
        // Replays the member's frames in order: which rooms it is in, and what it got in each.
        const inRoom = new Map<string, number>(); // room → the offset its welcome covered
        const got = new Map<string, number[]>(); // room → offsets received in the open period
        const closePeriod = (name: string) => {
          inRoom.delete(name);
          got.delete(name);
        };
        const seen = new Set<string>();
        for (const f of m.socket.objects()) {
          if (f.type === "welcome" || f.type === "subscribed") {
            inRoom.set(f.room, f.offset);
            got.set(f.room, []);
            periods++;
          } else if (f.type === "unsubscribed") closePeriod(f.room);
          else if (f.type === "message") {
            assert.ok(inRoom.has(f.room), `a message of ${f.room}, which ${m.conn.id} is not in`);
            assert.notEqual(f.from, m.conn.id, "never its own message");
            const key = `${f.room}/${f.offset}`;
            assert.ok(!seen.has(key), `${key} twice`);
            seen.add(key);
            got.get(f.room)!.push(f.offset);
          }
        }
        if (m.left) continue;
        // Every room it is still in: everything from the others after its welcome, in order.
        for (const [name, from] of inRoom) {
          const due = (log.get(name) ?? []).filter((x) => x.from !== m.conn.id && x.offset > from)
            .map((x) => x.offset);
          assert.deepEqual(got.get(name), due, `${m.conn.id} in ${name} after offset ${from}`);
          checkedOffsets += due.length;
        }
      }
      for (const m of live()) {
        m.conn.close(1000, "end");
        t.hub.remove(m.conn);
      }
      await t.tick();
    }),
    { numRuns: RUNS },
  );
  console.log(
    `subscribe model: ${RUNS} sequences, ${periods} subscription periods, ` +
      `${checkedOffsets} deliveries due and checked`,
  );
  assert.ok(periods > RUNS && checkedOffsets > RUNS / 4, "subscriptions and deliveries happened");
});
