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
