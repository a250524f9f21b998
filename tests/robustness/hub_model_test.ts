/**
 * Model-based fuzzing of the hub's fan-out: random interleavings of joins (some still joining when
 * messages flow), leaves, valid and bad frames, flushes and timer ticks across two rooms. Every
 * connection must receive every other member's accepted message of its room exactly once, in
 * offset order, and never its own; bad frames reach nobody. "Every" is measured from the log
 * offset at which the member joined (between the offsets seen at attach and when the join
 * resolved), for JSON and plain members alike.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Connection } from "../../lib/hub/connection.ts";
import { fakeHub, FakeSocket } from "../helpers/fake_hub.ts";
import { envOr } from "../helpers/requires.ts";

const RUNS = Number(envOr("FUZZ_RUNS", "4000")) / 8;

type Action =
  | { kind: "join"; room: number; wait: boolean; plain: boolean }
  | { kind: "leave"; who: number }
  | { kind: "send"; who: number; burst: number }
  | { kind: "bad"; who: number; data: string }
  | { kind: "turn" }
  | { kind: "tick" };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("join" as const),
      room: fc.nat(1),
      wait: fc.boolean(),
      plain: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), who: fc.nat(20) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      who: fc.nat(20),
      burst: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("bad" as const),
      who: fc.nat(20),
      data: fc.constantFrom("{", "[]", '{"type":"x"}', " ", '{"type":"message","text":""}'),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "turn" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "tick" as const }) },
);

interface Member {
  conn: Connection;
  socket: FakeSocket;
  room: string;
  plain: boolean;
  left: boolean;
  /** The room's log offset when the socket was attached, and when its join resolved. */
  before: number;
  after: number | null;
}

Deno.test("hub model: random interleavings deliver every message once, in order, never back", async () => {
  // Members checked to the end, and how many of them were due at least one message.
  const checked = { json: 0, plain: 0, jsonDue: 0, plainDue: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 60 }), async (actions) => {
      const t = fakeHub({ RATE_LIMIT: "100000", RATE_BURST: "100000", PRESENCE_INTERVAL_MS: "50" });
      const members: Member[] = [];
      const opening: Promise<void>[] = [];
      const live = () => members.filter((m) => !m.left);
      const offsetOf = (room: string) => t.engine.position(room)?.offset ?? 0;
      let n = 0;
      for (const a of actions) {
        if (a.kind === "join") {
          const socket = new FakeSocket();
          const room = `room${a.room}`;
          const handshake = { room, name: null, client: null, resume: null };
          const conn = t.hub.attach(socket, handshake, !a.plain, null);
          const m: Member = {
            conn,
            socket,
            room,
            plain: a.plain,
            left: false,
            before: offsetOf(room),
            after: null,
          };
          members.push(m);
          // The member joins the log somewhere between these two offsets (its recovery point).
          const open = socket.open().then(() => {
            m.after = offsetOf(room);
          });
          if (a.wait) await open;
          else opening.push(open);
        } else if (a.kind === "leave" || a.kind === "send" || a.kind === "bad") {
          const alive = live();
          if (alive.length === 0) continue;
          const m = alive[a.who % alive.length];
          if (a.kind === "leave") {
            m.conn.close(1000, "bye");
            t.hub.remove(m.conn);
            m.left = true;
          } else if (a.kind === "bad") {
            t.hub.receive(m.conn, m.plain ? " \t" : a.data); // plain mode: only blank is bad
          } else {
            for (let i = 0; i < a.burst; i++) {
              const text = `t${n++}`;
              t.hub.receive(m.conn, m.plain ? text : JSON.stringify({ type: "message", text }));
            }
          }
        } else if (a.kind === "turn") await t.turn();
        else await t.tick();
      }
      await Promise.all(opening);
      await t.tick();
      await t.turn();
      // What the engine accepted, per room, in offset order.
      const log = new Map<string, { offset: number; from: string; text?: string }[]>();
      for (const room of [...t.engine.roomNames()]) {
        const pos = t.engine.position(room)!;
        const all = await t.engine.recover(room, { since: 0, epoch: pos.epoch }, 0);
        assert.ok(all.recovered, "the whole log is kept");
        log.set(room, all.history);
      }
      assert.equal([...log.values()].reduce((k, l) => k + l.length, 0), n, "every send accepted");
      for (const m of members) {
        const welcome = m.plain ? null : m.socket.objects().find((f) => f.type === "welcome");
        const got: { offset?: number; from?: string; text: string }[] = m.plain
          ? m.socket.sent.filter((s) => !s.startsWith("error: ")).map((text) => ({ text }))
          : m.socket.objects().filter((f) => f.type === "message");
        const texts = got.map((g) => g.text);
        for (const h of welcome?.history ?? []) {
          assert.notEqual(h.from, m.conn.id, "own in history");
        }
        assert.equal(new Set(texts).size, texts.length, "no message twice");
        for (const g of got) {
          assert.ok(/^t\d+$/.test(g.text), `a bad frame leaked: ${g.text}`);
          if (g.from !== undefined) assert.notEqual(g.from, m.conn.id, "never its own message");
        }
        if (m.left) continue;
        // A member present to the end got every message of its room from the others after its
        // join point, which lies between the offsets at attach and when its join resolved.
        assert.ok(m.after !== null, "the join resolved");
        const roomLog = log.get(m.room) ?? [];
        const byText = new Map(roomLog.map((x) => [x.text, x.offset]));
        const offsets = m.plain ? texts.map((x) => byText.get(x)) : got.map((g) => g.offset);
        const others = roomLog.filter((x) => x.from !== m.conn.id).map((x) => x.offset);
        const kind = m.plain ? "plain" : "json";
        checked[kind]++;
        if (offsets.length > 0) checked[`${kind}Due`]++;
        if (welcome) {
          assert.ok(m.before <= welcome.offset && welcome.offset <= m.after, "welcome offset");
          assert.deepEqual(offsets, others.filter((o) => o > welcome.offset));
        } else {
          const fits = (j: number) => {
            const due = others.filter((o) => o > j);
            return due.length === offsets.length && due.every((o, i) => o === offsets[i]);
          };
          let j = m.before;
          while (j < m.after && !fits(j)) j++;
          assert.deepEqual(
            offsets,
            others.filter((o) => o > j),
            `plain: everything after its join (between ${m.before} and ${m.after}), in order`,
          );
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
  console.log(`hub model: ${RUNS} sequences; members checked ${JSON.stringify(checked)}`);
  assert.ok(checked.plainDue > 0 && checked.jsonDue > 0, "some members were due messages");
});
