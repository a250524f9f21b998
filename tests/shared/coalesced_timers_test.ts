import assert from "node:assert/strict";
import { CoalescedTimers } from "../../lib/shared/coalesced_timers.ts";
import { ManualTimers } from "../helpers/manual_timers.ts";

function setup() {
  const base = new ManualTimers();
  const errors: unknown[] = [];
  const timers = new CoalescedTimers({
    timers: base,
    now: base.now,
    onError: (e) => errors.push(e),
  });
  return { base, timers, errors };
}

Deno.test("CoalescedTimers: each timer runs once at its own due time, one runtime timer per delay", () => {
  const { base, timers } = setup();
  const ran: string[] = [];
  timers.setTimer(() => ran.push(`a@${base.time}`), 100);
  base.advance(30);
  timers.setTimer(() => ran.push(`b@${base.time}`), 100);
  timers.setTimer(() => ran.push(`c@${base.time}`), 50);
  assert.equal(base.pending, 2); // one for 100 ms, one for 50 ms
  base.advance(70); // t = 100
  assert.deepEqual(ran, ["c@80", "a@100"]);
  base.advance(29);
  assert.deepEqual(ran, ["c@80", "a@100"]);
  base.advance(1); // t = 130
  assert.deepEqual(ran, ["c@80", "a@100", "b@130"]);
  assert.equal(base.pending, 0);
  assert.equal(timers.held, 0);
});

Deno.test("CoalescedTimers: a cleared timer never runs, and the last one cleared clears the runtime timer", () => {
  const { base, timers } = setup();
  const ran: number[] = [];
  const handles = [1, 2, 3].map((n) => timers.setTimer(() => ran.push(n), 100));
  timers.clearTimer(handles[1]);
  timers.clearTimer(handles[1]); // twice: ignored
  timers.clearTimer("not ours"); // ignored
  base.advance(100);
  assert.deepEqual(ran, [1, 3]);
  timers.clearTimer(handles[0]); // already ran: ignored
  const a = timers.setTimer(() => ran.push(4), 100);
  const b = timers.setTimer(() => ran.push(5), 100);
  assert.equal(base.pending, 1);
  timers.clearTimer(a);
  assert.equal(base.pending, 1);
  timers.clearTimer(b);
  assert.equal(base.pending, 0, "nothing pending: no runtime timer left (no leak in a test)");
  assert.equal(timers.held, 0);
  base.advance(1000);
  assert.deepEqual(ran, [1, 3]);
});

Deno.test("CoalescedTimers: cleared timers behind a pending one are dropped, not held until due", () => {
  const { base, timers } = setup();
  let ran = 0;
  timers.setTimer(() => ran++, 10_000); // stays pending all along
  for (let i = 0; i < 10_000; i++) timers.clearTimer(timers.setTimer(() => ran += 100, 10_000));
  assert.ok(timers.held <= 2 * 1024 + 1, `held ${timers.held} timers for one pending`);
  assert.ok(timers.held >= 1);
  base.advance(10_000);
  assert.equal(ran, 1);
  assert.equal(timers.held, 0);
  assert.equal(base.pending, 0);
});

Deno.test("CoalescedTimers: a timer set by a callback on its delay keeps every due time", () => {
  const { base, timers } = setup();
  const ran: string[] = [];
  timers.setTimer(() => {
    ran.push(`a@${base.time}`);
    timers.setTimer(() => ran.push(`c@${base.time}`), 100);
  }, 100);
  base.advance(40);
  timers.setTimer(() => ran.push(`b@${base.time}`), 100);
  base.advance(200);
  assert.deepEqual(ran, ["a@100", "b@140", "c@200"]);
  assert.equal(base.pending, 0);
});

Deno.test("CoalescedTimers: a throwing callback is reported and the others due with it still run", () => {
  const { base, timers, errors } = setup();
  const ran: number[] = [];
  timers.setTimer(() => ran.push(1), 10);
  timers.setTimer(() => {
    throw new Error("boom");
  }, 10);
  timers.setTimer(() => ran.push(3), 10);
  base.advance(10);
  assert.deepEqual(ran, [1, 3]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /boom/);
});

Deno.test("CoalescedTimers: a negative or NaN delay runs at the next turn, like setTimeout's 0", () => {
  const { base, timers } = setup();
  const ran: number[] = [];
  timers.setTimer(() => ran.push(1), -5);
  timers.setTimer(() => ran.push(2), NaN);
  assert.deepEqual(base.delays(), [0]);
  base.advance(0);
  assert.deepEqual(ran, [1, 2]);
});

Deno.test("CoalescedTimers: on the runtime's timers, a cleared set leaves no timer behind", async () => {
  const timers = new CoalescedTimers();
  const ran: string[] = [];
  const cleared = timers.setTimer(() => ran.push("cleared"), 5);
  timers.setTimer(() => ran.push("first"), 5);
  timers.setTimer(() => ran.push("second"), 15);
  timers.clearTimer(cleared);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(ran, ["first", "second"]);
  assert.equal(timers.held, 0);
});

Deno.test("CoalescedTimers: its methods work taken off the object (as the transport destructures them)", () => {
  const { base, timers } = setup();
  const { setTimer, clearTimer } = timers;
  let ran = 0;
  clearTimer(setTimer(() => ran += 10, 5));
  setTimer(() => ran++, 5);
  base.advance(5);
  assert.equal(ran, 1);
});

Deno.test("CoalescedTimers: a 0 ms timer set by a callback runs at the next runtime timer, not in the same pass", () => {
  // A runtime whose timers run only when the test says, one at a time, on a frozen clock.
  const armed: (() => void)[] = [];
  const base = {
    setTimer: (fn: () => void) => armed.push(fn),
    clearTimer: () => {},
  };
  const timers = new CoalescedTimers({ timers: base, now: () => 0 });
  const ran: string[] = [];
  const chain = (n: number) => () => {
    ran.push(`c${n}`);
    if (n < 1000) timers.setTimer(chain(n + 1), 0);
  };
  timers.setTimer(chain(0), 0);
  timers.setTimer(() => ran.push("b"), 0);
  armed.shift()!();
  assert.deepEqual(ran, ["c0", "b"], "c1 waits for the next pass");
  armed.shift()!();
  assert.deepEqual(ran, ["c0", "b", "c1"]);
});

Deno.test("CoalescedTimers: an onError that throws does not stall the timers after it", () => {
  const base = new ManualTimers();
  const timers = new CoalescedTimers({
    timers: base,
    now: base.now,
    onError: (err) => {
      throw err;
    },
  });
  const ran: string[] = [];
  timers.setTimer(() => {
    throw new Error("boom");
  }, 10);
  base.advance(5);
  timers.setTimer(() => ran.push("later"), 10);
  assert.throws(() => base.advance(5), /boom/);
  base.advance(5);
  assert.deepEqual(ran, ["later"]);
  assert.equal(base.pending, 0);
});

Deno.test("CoalescedTimers: a delay past 2^31 - 1 ms is waited out, not fired at once", () => {
  const { base, timers } = setup();
  let ran = 0;
  timers.setTimer(() => ran++, 2 ** 31 + 5000);
  assert.deepEqual(base.delays(), [2 ** 31 - 1]);
  base.advance(2 ** 31 - 1);
  assert.equal(ran, 0);
  base.advance(5000);
  assert.equal(ran, 0);
  base.advance(1);
  assert.equal(ran, 1);
});

Deno.test("CoalescedTimers: another instance's handle is ignored", () => {
  const { base, timers } = setup();
  const other = new CoalescedTimers({ timers: base, now: base.now });
  let ran = 0;
  const handle = other.setTimer(() => ran++, 10);
  timers.clearTimer(handle);
  base.advance(10);
  assert.equal(ran, 1);
});
