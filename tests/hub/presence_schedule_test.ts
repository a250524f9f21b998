import assert from "node:assert/strict";
import type { Connection } from "../../lib/hub/connection.ts";
import type { Subscription } from "../../lib/hub/connection.ts";
import { LocalRoom } from "../../lib/hub/local_room.ts";
import { Metrics } from "../../lib/hub/metrics.ts";
import { PresenceSchedule } from "../../lib/hub/presence_schedule.ts";

function roomOf(members: number): LocalRoom {
  const room = new LocalRoom("big", Promise.resolve());
  for (let i = 0; i < members; i++) {
    const conn = { id: `c${i}`, name: null, json: true } as unknown as Connection;
    room.members.add({ conn, room: "big" } as unknown as Subscription);
  }
  return room;
}

/** A schedule on a fake clock: timers run when `advance` passes them. */
function fakeSchedule(intervalMs: number, framesPerSecond?: number) {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const waits: number[] = [];
  const deferred: (() => void)[] = [];
  const queued: string[] = [];
  /** Local counts the schedule reported to the engine. */
  const asked: number[] = [];
  const metrics = new Metrics();
  const schedule = new PresenceSchedule({
    intervalMs,
    framesPerSecond,
    defer: (fn) => deferred.push(fn),
    timers: {
      setTimer: (fn, ms) => (waits.push(ms), timers.push({ at: now + ms, fn })),
      clearTimer: () => {},
    },
    online: (_room, local) => (asked.push(local), local),
    queue: (_conn, frame) => queued.push(frame),
    metrics,
  });
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = due.at;
      timers = timers.filter((t) => t !== due);
      due.fn();
    }
    now = until;
  };
  return { schedule, waits, deferred, queued, asked, metrics, advance };
}

const joiner = (i: number) => ({ id: `n${i}`, name: null }) as unknown as Connection;

Deno.test("presence: the batch window stretches at members / PRESENCE_FRAMES_PER_SECOND, not before", () => {
  const t = fakeSchedule(250, 4000);
  // 1000 members at 4000 frames/s: exactly the interval.
  assert.equal(t.schedule.windowMs(roomOf(1000)), 250);
  assert.equal(t.schedule.windowMs(roomOf(1003)), 250);
  assert.equal(t.schedule.windowMs(roomOf(1004)), 251);
  assert.equal(t.schedule.windowMs(roomOf(10_000)), 2500);
  assert.equal(t.schedule.windowMs(roomOf(3)), 250);
  // Without a bound the interval is all there is.
  assert.equal(fakeSchedule(250).schedule.windowMs(roomOf(100_000)), 250);
  // With PRESENCE_INTERVAL_MS=0 small rooms still get their frame at the end of the turn.
  const zero = fakeSchedule(0, 4000);
  zero.schedule.announce(roomOf(3), "joined", joiner(1));
  assert.equal(zero.deferred.length, 1);
  assert.deepEqual(zero.waits, []);
});

Deno.test("presence: constant churn in a 10 000-member room costs at most PRESENCE_FRAMES_PER_SECOND frames a second", () => {
  const t = fakeSchedule(250, 4000);
  const room = roomOf(10_000);
  // One join every millisecond for 10 simulated seconds.
  for (let ms = 0; ms < 10_000; ms++) {
    t.schedule.announce(room, "joined", joiner(ms));
    t.advance(1);
  }
  t.advance(5000);
  assert.ok(t.waits.every((w) => w === 2500), `windows: ${[...new Set(t.waits)]}`);
  // 4 batches (at 2.5, 5, 7.5 and 10 s), each one frame per member: 40 000 frames in 10 s.
  assert.equal(t.metrics.presenceFrames, 40_000);
  assert.equal(t.queued.length, 40_000);
  const first = JSON.parse(t.queued[0]);
  assert.equal(first.joins, 2500, "each batch carries every join of its window");
  // With only PRESENCE_INTERVAL_MS the same churn costs ten times as much.
  const unbounded = fakeSchedule(250);
  for (let ms = 0; ms < 10_000; ms++) {
    unbounded.schedule.announce(room, "joined", joiner(ms));
    unbounded.advance(1);
  }
  unbounded.advance(5000);
  assert.equal(unbounded.metrics.presenceFrames, 400_000);
});

Deno.test("presence: a batch of a room nobody is in any more tells nobody and asks the engine nothing", () => {
  const t = fakeSchedule(250);
  const room = roomOf(1);
  const [last] = room.members;
  // The hub forgets the last member, then announces its leave (and drops the room).
  room.members.delete(last);
  t.schedule.announce(room, "left", last.conn);
  t.advance(250);
  // Asking would tell a Redis engine "0 here" for the room's name, also while a new room of that
  // name is being joined: other instances would count this one's members out.
  assert.deepEqual(t.asked, []);
  assert.deepEqual(t.queued, []);
  assert.ok(room.presence.empty, "the batch is dropped");
  // A room with members still gets its frame, with the engine's count.
  const live = roomOf(2);
  t.schedule.announce(live, "left", joiner(9));
  t.advance(250);
  assert.deepEqual(t.asked, [2]);
  assert.equal(t.queued.length, 2);
});
