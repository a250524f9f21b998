import assert from "node:assert/strict";
import { type CatchUp, RoomFeed } from "../../lib/engine/room_feed.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";

function msg(epoch: string, offset: number): ChatMessage {
  return {
    type: "message",
    room: "r",
    offset,
    id: `${epoch}-${offset}`,
    from: "c1",
    client: null,
    name: null,
    text: `m${offset}`,
    ts: 0,
  };
}

/** A feed over a fake stream holding `stream` (epoch → offsets kept). */
function setup(stream: { epoch: string; offsets: number[]; offset: number }) {
  const delivered: string[] = [];
  const gaps: [number, number][] = [];
  const reads: [string | null, number][] = [];
  let fail = false;
  const feed = new RoomFeed({
    deliver: (m) => delivered.push(m.id),
    read: (epoch, since): Promise<CatchUp> => {
      reads.push([epoch, since]);
      if (fail) return Promise.reject(new Error("redis down"));
      const after = epoch === stream.epoch ? since : 0;
      const messages = stream.offsets.filter((o) => o > after).map((o) => msg(stream.epoch, o));
      return Promise.resolve({ epoch: stream.epoch, offset: stream.offset, messages });
    },
    onGap: (from, to) => gaps.push([from, to]),
  });
  return { feed, delivered, gaps, reads, setFail: (v: boolean) => fail = v };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("feed delivers in order and drops copies of what it delivered", () => {
  const { feed, delivered, reads } = setup({ epoch: "e", offsets: [], offset: 0 });
  feed.push({ epoch: "e", message: msg("e", 4) }); // before start: held
  feed.start("e", 3);
  feed.push({ epoch: "e", message: msg("e", 5) });
  feed.push({ epoch: "e", message: msg("e", 5) });
  feed.push({ epoch: "e", message: msg("e", 4) });
  assert.deepEqual(delivered, ["e-4", "e-5"]);
  assert.deepEqual(reads, []);
});

Deno.test("feed reads the stream when an offset it delivered arrives as another message", async () => {
  const s = setup({ epoch: "e", offsets: [1, 2, 3, 4], offset: 4 });
  s.feed.start("e", 3);
  s.feed.push({ epoch: "e", message: msg("e", 4) });
  s.feed.push({ epoch: "e", message: { ...msg("e", 4), ts: 99, text: "rolled back" } });
  await settle();
  assert.deepEqual(s.reads, [["e", 4]], "a second message at 4: Redis' history was rolled back");
  const old = setup({ epoch: "e", offsets: [1, 2, 3], offset: 3 });
  old.feed.start("e", 3);
  old.feed.push({ epoch: "e", message: msg("e", 2) });
  await settle();
  assert.deepEqual(old.reads, [["e", 3]], "an offset from before the start cannot be told apart");
  assert.deepEqual(old.delivered, []);
});

Deno.test("feed reads the stream on a jump and delivers each message once", async () => {
  const s = setup({ epoch: "e", offsets: [1, 2, 3, 4, 5], offset: 5 });
  s.feed.start("e", 1);
  s.feed.push({ epoch: "e", message: msg("e", 4) });
  s.feed.push({ epoch: "e", message: msg("e", 5) });
  await settle();
  assert.deepEqual(s.delivered, ["e-2", "e-3", "e-4", "e-5"]);
  assert.deepEqual(s.reads, [["e", 1]]);
  assert.deepEqual(s.gaps, []);
});

Deno.test("feed follows a new epoch from its first kept message", async () => {
  const s = setup({ epoch: "f", offsets: [1, 2], offset: 2 });
  s.feed.start("e", 7);
  s.feed.push({ epoch: "f", message: msg("f", 2) });
  await settle();
  assert.deepEqual(s.delivered, ["f-1", "f-2"]);
  assert.deepEqual(s.feed.position, { epoch: "f", last: 2 });
});

Deno.test("feed says the room was reset before delivering a new epoch's messages", async () => {
  const events: string[] = [];
  const feed = new RoomFeed({
    deliver: (m) => events.push(m.id),
    read: () => Promise.resolve({ epoch: "f", offset: 1, messages: [msg("f", 1)] }),
    onReset: (epoch) => events.push(`reset ${epoch}`),
  });
  feed.start("e", 3);
  feed.push({ epoch: "e", message: msg("e", 4) });
  feed.push({ epoch: "f", message: msg("f", 1) });
  await settle();
  assert.deepEqual(events, ["e-4", "reset f", "f-1"]);
});

Deno.test("feed reports trimmed messages as a gap and moves on", async () => {
  const s = setup({ epoch: "e", offsets: [6, 7], offset: 7 });
  s.feed.start("e", 2);
  s.feed.push({ epoch: "e", message: msg("e", 7) });
  await settle();
  assert.deepEqual(s.delivered, ["e-6", "e-7"]);
  assert.deepEqual(s.gaps, [[3, 5]]);
});

Deno.test("feed retries a failed catch-up later without losing held messages", async () => {
  const s = setup({ epoch: "e", offsets: [1, 2, 3], offset: 3 });
  s.feed.start("e", 1);
  s.setFail(true);
  s.feed.push({ epoch: "e", message: msg("e", 3) });
  await settle();
  assert.deepEqual(s.delivered, []);
  s.setFail(false);
  s.feed.catchUp();
  await settle();
  assert.deepEqual(s.delivered, ["e-2", "e-3"]);
});

// --- as the KV engine drives it -------------------------------------------------------------

const kvMsg = (offset: number, epoch = "e1"): ChatMessage => ({
  ...msg(epoch, offset),
  ts: offset,
});

/**
 * The KV engine's use of `RoomFeed`: started at the room's head when joined, fed the commits of
 * this worker and the others (in any order, some missing), reading a fake KV holding `disk`
 * (epoch, offset, kept messages) on a gap.
 */
function feedOver(disk: { epoch: string; offset: number; kept: number[] }) {
  const delivered: number[] = [];
  const reads: string[] = [];
  const gaps: string[] = [];
  const resets: string[] = [];
  const errors: string[] = [];
  let failNext = false;
  const roomFeed = new RoomFeed({
    deliver: (m) => delivered.push(m.offset),
    read: (epoch, since): Promise<CatchUp> => {
      reads.push(`${epoch}:${since}`);
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("kv down"));
      }
      if (epoch !== disk.epoch) {
        return Promise.resolve({ epoch: disk.epoch, offset: disk.offset, messages: [] });
      }
      const messages = disk.kept.filter((o) => o > since).map((o) => kvMsg(o, disk.epoch));
      return Promise.resolve({ epoch: disk.epoch, offset: disk.offset, messages });
    },
    onGap: (from, to) => gaps.push(`${from}-${to}`),
    onReset: (epoch) => resets.push(epoch),
    onError: (err) => errors.push(String(err)),
  });
  roomFeed.start("e1", 0);
  // As KvEngine hands a commit's messages over.
  const feed = {
    push: (epoch: string, messages: ChatMessage[]) => {
      for (const message of messages) roomFeed.push({ epoch, message });
    },
    catchUp: () => roomFeed.catchUp(),
    close: () => roomFeed.close(),
    get position() {
      return roomFeed.position;
    },
  };
  return {
    feed,
    delivered,
    reads,
    gaps,
    resets,
    errors,
    failNextRead: () => failNext = true,
  };
}

/** Lets pending reads settle (a few turns of the event loop, no timers). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

Deno.test("room feed (KV): the next offset goes at once, copies are dropped, no read", async () => {
  const f = feedOver({ epoch: "e1", offset: 3, kept: [1, 2, 3] });
  f.feed.push("e1", [kvMsg(1), kvMsg(2)]);
  f.feed.push("e1", [kvMsg(2)]);
  f.feed.push("e1", [kvMsg(3)]);
  f.feed.push("e1", [kvMsg(1), kvMsg(3)]);
  await turns();
  assert.deepEqual(f.delivered, [1, 2, 3]);
  assert.deepEqual(f.reads, [], "nothing was missing");
  assert.deepEqual(f.feed.position, { epoch: "e1", last: 3 });
});

Deno.test("room feed (KV): n+2 before n+1 reads KV, delivers both once, then drops the late post", async () => {
  const f = feedOver({ epoch: "e1", offset: 3, kept: [1, 2, 3] });
  f.feed.push("e1", [kvMsg(1)]);
  f.feed.push("e1", [kvMsg(3)]);
  assert.deepEqual(f.delivered, [1], "3 waits for 2");
  await turns();
  assert.deepEqual(f.reads, ["e1:1"]);
  assert.deepEqual(f.delivered, [1, 2, 3]);
  f.feed.push("e1", [kvMsg(2)]);
  await turns();
  assert.deepEqual(f.delivered, [1, 2, 3], "the late copy of 2 is not delivered again");
});

Deno.test("room feed (KV): posts arriving during a read wait for it and are not delivered twice", async () => {
  const f = feedOver({ epoch: "e1", offset: 4, kept: [1, 2, 3, 4] });
  f.feed.push("e1", [kvMsg(2)]); // a jump: reads
  f.feed.push("e1", [kvMsg(4), kvMsg(3), kvMsg(5)]); // 5 is committed after the read's head
  await turns(10);
  assert.deepEqual(f.delivered, [1, 2, 3, 4, 5]);
  assert.deepEqual(f.reads, ["e1:0"]);
});

Deno.test("room feed (KV): messages trimmed before they could be read are skipped once, as a gap", async () => {
  const f = feedOver({ epoch: "e1", offset: 6, kept: [5, 6] });
  f.feed.push("e1", [kvMsg(6)]);
  await turns();
  assert.deepEqual(f.delivered, [5, 6]);
  assert.deepEqual(f.gaps, ["1-4"]);
});

Deno.test("room feed (KV): catchUp reads a missed tail; a failed read is retried on the next push", async () => {
  const f = feedOver({ epoch: "e1", offset: 2, kept: [1, 2] });
  f.failNextRead();
  f.feed.catchUp();
  await turns();
  assert.deepEqual(f.delivered, []);
  assert.equal(f.errors.length, 1);
  f.feed.catchUp();
  await turns();
  assert.deepEqual(f.delivered, [1, 2]);
});

Deno.test("room feed (KV): another epoch on disk resets the room and delivers nothing of the old one", async () => {
  const f = feedOver({ epoch: "e2", offset: 7, kept: [6, 7] });
  f.feed.push("e2", [kvMsg(7, "e2")]);
  await turns();
  assert.deepEqual(f.resets, ["e2"]);
  assert.deepEqual(f.delivered, [], "members of e2 are welcomed at its current offset");
  f.feed.push("e2", [kvMsg(8, "e2")]);
  assert.deepEqual(f.delivered, [8]);
  f.feed.close();
  f.feed.push("e2", [kvMsg(9, "e2")]);
  assert.deepEqual(f.delivered, [8], "closed: nothing more");
});
