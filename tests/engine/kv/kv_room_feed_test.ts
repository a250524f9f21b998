import assert from "node:assert/strict";
import { type CatchUp, RoomFeed } from "../../../lib/engine/room_feed.ts";
import type { ChatMessage } from "../../../lib/protocol/frames.ts";

const msg = (offset: number, epoch = "e1"): ChatMessage => ({
  type: "message",
  room: "r",
  offset,
  id: `${epoch}-${offset}`,
  from: "c1",
  client: null,
  name: null,
  text: `m${offset}`,
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
      const messages = disk.kept.filter((o) => o > since).map((o) => msg(o, disk.epoch));
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
  f.feed.push("e1", [msg(1), msg(2)]);
  f.feed.push("e1", [msg(2)]);
  f.feed.push("e1", [msg(3)]);
  f.feed.push("e1", [msg(1), msg(3)]);
  await turns();
  assert.deepEqual(f.delivered, [1, 2, 3]);
  assert.deepEqual(f.reads, [], "nothing was missing");
  assert.deepEqual(f.feed.position, { epoch: "e1", last: 3 });
});

Deno.test("room feed (KV): n+2 before n+1 reads KV, delivers both once, then drops the late post", async () => {
  const f = feedOver({ epoch: "e1", offset: 3, kept: [1, 2, 3] });
  f.feed.push("e1", [msg(1)]);
  f.feed.push("e1", [msg(3)]);
  assert.deepEqual(f.delivered, [1], "3 waits for 2");
  await turns();
  assert.deepEqual(f.reads, ["e1:1"]);
  assert.deepEqual(f.delivered, [1, 2, 3]);
  f.feed.push("e1", [msg(2)]);
  await turns();
  assert.deepEqual(f.delivered, [1, 2, 3], "the late copy of 2 is not delivered again");
});

Deno.test("room feed (KV): posts arriving during a read wait for it and are not delivered twice", async () => {
  const f = feedOver({ epoch: "e1", offset: 4, kept: [1, 2, 3, 4] });
  f.feed.push("e1", [msg(2)]); // a jump: reads
  f.feed.push("e1", [msg(4), msg(3), msg(5)]); // 5 is committed after the read's head
  await turns(10);
  assert.deepEqual(f.delivered, [1, 2, 3, 4, 5]);
  assert.deepEqual(f.reads, ["e1:0"]);
});

Deno.test("room feed (KV): messages trimmed before they could be read are skipped once, as a gap", async () => {
  const f = feedOver({ epoch: "e1", offset: 6, kept: [5, 6] });
  f.feed.push("e1", [msg(6)]);
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
  f.feed.push("e2", [msg(7, "e2")]);
  await turns();
  assert.deepEqual(f.resets, ["e2"]);
  assert.deepEqual(f.delivered, [], "members of e2 are welcomed at its current offset");
  f.feed.push("e2", [msg(8, "e2")]);
  assert.deepEqual(f.delivered, [8]);
  f.feed.close();
  f.feed.push("e2", [msg(9, "e2")]);
  assert.deepEqual(f.delivered, [8], "closed: nothing more");
});
