/**
 * Property-based fuzzing (fast-check) of everything that reads client input: frame parsing in
 * both modes, handshake query validation, the UTF-8 size check, and the hub's `receive` over
 * fake sockets. Any input must give a valid result or a specific error, never an exception.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_NAME_CHARS, parseHandshake } from "../../lib/protocol/handshake.ts";
import {
  type ErrorCode,
  MAX_REF_LENGTH,
  parseClientFrame,
  parsePlainFrame,
} from "../../lib/protocol/frames.ts";
import { exceedsBytes } from "../../lib/shared/text_size.ts";
import { fakeHub } from "../helpers/fake_hub.ts";
import { envOr } from "../helpers/requires.ts";

/** Runs per property: enough to find shallow bugs, small enough for a few seconds in CI. */
const RUNS = Number(envOr("FUZZ_RUNS", "4000"));

const CODES: ErrorCode[] = [
  "invalid_json",
  "invalid_message",
  "unknown_type",
  "empty_message",
  "too_large",
  "rate_limited",
  "unsupported_binary",
  "unavailable",
  "invalid_text",
];

/** The control characters message texts must not contain: every Cc but tab and newline. */
const CONTROL = /(?![\t\n])\p{Cc}/u;

/** Any UTF-16 unit sequence, lone surrogates included. */
const units = (maxLength = 200) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    maxLength,
  });
/** Printable, full-Unicode, control characters and bidi marks mixed. */
const nasty = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  units(80),
  fc.constantFrom("\u202E", "\u2066", "\u200F", "\0", "\n", "\t", " ", "\u061C", "é", "😀"),
);
/** JSON objects shaped like frames, with wrong types mixed in. */
const frameLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom("message", "ping", "pong", "MESSAGE", ""), fc.jsonValue()),
    text: fc.oneof(nasty, fc.jsonValue()),
    ref: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()),
    t: fc.oneof(fc.double(), fc.jsonValue()),
  },
  { requiredKeys: [] },
).map((o) => JSON.stringify(o));
const anyFrameText = fc.oneof(
  units(300),
  fc.string({ unit: "binary", maxLength: 300 }),
  frameLike,
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 2000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
);

function checkResult(result: ReturnType<typeof parseClientFrame>): void {
  if (result.ok) {
    const f = result.frame;
    if (f.type === "message") {
      if (f.text === undefined) {
        assert.ok(Object.hasOwn(f, "data"), "a message without text has data");
      } else {
        assert.equal(typeof f.text, "string");
        assert.notEqual(f.text.trim(), "");
        assert.doesNotMatch(f.text, CONTROL);
      }
      if (f.ref !== undefined) {
        assert.ok(typeof f.ref === "string" && f.ref.length >= 1 && f.ref.length <= MAX_REF_LENGTH);
      }
    } else {
      assert.equal(f.type, "ping");
      assert.ok(f.t === null || Number.isFinite(f.t));
    }
    return;
  }
  assert.ok(CODES.includes(result.error.code), `unknown code ${result.error.code}`);
  assert.ok(result.error.message.length > 0 && result.error.message.length < 400);
  if (result.error.ref !== undefined) assert.equal(typeof result.error.ref, "string");
}

Deno.test("fuzz: parseClientFrame gives a valid frame or a known error for any text", () => {
  fc.assert(fc.property(anyFrameText, (text) => checkResult(parseClientFrame(text))), {
    numRuns: RUNS,
  });
});

Deno.test("fuzz: parseClientFrame accepts every well-formed message and keeps it intact", () => {
  const text = fc.string({ unit: "binary", minLength: 1, maxLength: 100 })
    .filter((s) => s.trim() !== "" && !CONTROL.test(s));
  const ref = fc.option(fc.string({ minLength: 1, maxLength: MAX_REF_LENGTH }), { nil: undefined });
  fc.assert(
    fc.property(text, ref, (t, r) => {
      const result = parseClientFrame(JSON.stringify({ type: "message", text: t, ref: r }));
      assert.deepEqual(result, {
        ok: true,
        frame: r === undefined
          ? { type: "message", text: t }
          : { type: "message", text: t, ref: r },
      });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("fuzz: parseClientFrame refuses a text with a control character, naming the first", () => {
  const text = fc.tuple(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom("\u0000", "\u0007", "\r", "\u000B", "\u001B", "\u007F", "\u0085", "\u009F"),
    fc.string({ unit: "binary", maxLength: 40 }),
  ).filter(([head]) => head.trim() !== "" && !CONTROL.test(head));
  fc.assert(
    fc.property(text, ([head, control, tail]) => {
      const result = parseClientFrame(
        JSON.stringify({ type: "message", text: head + control + tail }),
      );
      assert.equal(!result.ok && result.error.code, "invalid_text");
      const hex = control.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
      const at = [...head].length + 1;
      assert.match(
        !result.ok ? result.error.message : "",
        new RegExp(`U\\+${hex} at character ${at}$`),
      );
    }),
    { numRuns: RUNS },
  );
});

Deno.test("fuzz: parsePlainFrame accepts exactly the texts not blank and without controls", () => {
  fc.assert(
    fc.property(fc.oneof(units(200), fc.stringMatching(/^\s*$/)), (text) => {
      const result = parsePlainFrame(text);
      if (text.trim() === "") assert.equal(!result.ok && result.error.code, "empty_message");
      else if (CONTROL.test(text)) assert.equal(!result.ok && result.error.code, "invalid_text");
      else assert.deepEqual(result, { ok: true, frame: { type: "message", text } });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("fuzz: exceedsBytes agrees with TextEncoder for any string and limit", () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(units(400), fc.integer({ min: 0, max: 1300 }), (text, limit) => {
      assert.equal(exceedsBytes(text, limit), encoder.encode(text).length > limit);
    }),
    { numRuns: RUNS },
  );
});

const FORBIDDEN = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const queryValue = fc.oneof(
  nasty,
  fc.stringMatching(/^[a-z0-9_-]{0,70}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/),
  fc.nat().map(String),
  fc.constantFrom("-1", "1e3", "0x10", "9999999999999999", " 5", "", "%00"),
);
const query = fc.dictionary(
  fc.constantFrom("room", "name", "client", "since", "epoch", "other"),
  queryValue,
  { maxKeys: 6 },
);

Deno.test("fuzz: parseHandshake accepts only valid queries and says why it refuses", () => {
  fc.assert(
    fc.property(query, (q) => {
      const url = new URL(`ws://h/ws?${new URLSearchParams(q)}`);
      const result = parseHandshake(url);
      if (!result.ok) {
        assert.match(result.reason, /room|name|client|since|epoch/);
        assert.ok(result.reason.length < 300, "reason stays short whatever the input");
        return;
      }
      const v = result.value;
      assert.match(v.room, /^[a-z0-9_-]{1,64}$/);
      assert.equal(v.room, q.room ?? "lobby");
      if (v.name !== null) {
        assert.equal(v.name, v.name.trim());
        assert.ok([...v.name].length >= 1 && [...v.name].length <= MAX_NAME_CHARS);
        assert.ok(!FORBIDDEN.test(v.name), `forbidden character in ${JSON.stringify(v.name)}`);
      } else assert.equal(q.name, undefined);
      if (v.key !== null) assert.match(v.key, /^[A-Za-z0-9_-]{8,64}$/);
      if (v.resume) {
        assert.ok(Number.isSafeInteger(v.resume.since) && v.resume.since >= 0);
        assert.equal(String(v.resume.since), String(Number(q.since)));
        assert.match(v.resume.epoch, /^[A-Za-z0-9_-]{1,64}$/);
      } else assert.ok(q.since === undefined && q.epoch === undefined);
    }),
    { numRuns: RUNS },
  );
});

/** Bytes or text as a socket may deliver them to `receive`. */
const wireInput = fc.oneof(
  { weight: 4, arbitrary: anyFrameText },
  { weight: 1, arbitrary: fc.string({ maxLength: 1200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1200 }).map((b) => b.buffer as ArrayBuffer) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((b) => new Blob([b])) },
);

Deno.test("fuzz: hub.receive turns any frame into a delivery or one error, and keeps going", async () => {
  const MAX = 256;
  const t = fakeHub({
    MAX_MESSAGE_BYTES: String(MAX),
    RATE_LIMIT: "1000000",
    RATE_BURST: "1000000",
  });
  const peer = await t.connect();
  const plainPeer = await t.connect({}, false);
  let json = await t.connect();
  let plain = await t.connect({}, false);
  const encoder = new TextEncoder();
  let closes = 0;
  await fc.assert(
    fc.asyncProperty(wireInput, fc.boolean(), async (data, useJson) => {
      const sender = useJson ? json : plain;
      for (const s of [sender, peer, plainPeer]) s.socket.sent.length = 0;
      t.hub.receive(sender.conn, data); // must not throw
      await t.turn();
      const size = typeof data === "string" ? encoder.encode(data).length : -1;
      if (sender.socket.closeCode !== null) {
        assert.equal(sender.socket.closeCode, 1009, "only a far-oversized frame closes");
        const length = typeof data === "string"
          ? data.length
          : data instanceof Blob
          ? data.size
          : data.byteLength;
        assert.ok(length > 4 * MAX);
        closes++;
        if (useJson) json = await t.connect();
        else plain = await t.connect({}, false);
        return;
      }
      const expected = typeof data !== "string"
        ? { ok: false as const, code: "unsupported_binary" }
        : size > MAX
        ? { ok: false as const, code: "too_large" }
        : (() => {
          const r = useJson ? parseClientFrame(data) : parsePlainFrame(data);
          return r.ok
            ? { ok: true as const, frame: r.frame }
            : { ok: false as const, code: r.error.code };
        })();
      const peerMessages = peer.socket.objects().filter((f) => f.type === "message");
      if (!expected.ok) {
        assert.deepEqual(peerMessages, [], "a rejected frame reaches nobody");
        assert.deepEqual(plainPeer.socket.sent, []);
        if (useJson) {
          const [err] = sender.socket.objects();
          assert.equal(err.type, "error");
          assert.equal(err.code, expected.code);
        } else assert.match(sender.socket.sent[0], /^error: /);
        return;
      }
      if (expected.frame.type === "ping") {
        assert.equal(sender.socket.objects()[0].type, "pong");
        assert.deepEqual(peerMessages, []);
        return;
      }
      if (expected.frame.type === "subscribe" || expected.frame.type === "unsubscribe") {
        // Answered to the sender alone (subscribed, unsubscribed or an error), never the room.
        assert.deepEqual(peerMessages, []);
        return;
      }
      if (expected.frame.type === "refresh") {
        // Open mode: nothing to refresh, an error for the sender and nothing for the room.
        const [err] = sender.socket.objects();
        assert.equal(err.type, "error");
        assert.equal(err.code, "invalid_message");
        assert.deepEqual(peerMessages, []);
        return;
      }
      assert.equal(peerMessages.length, 1);
      assert.equal(peerMessages[0].text, expected.frame.text);
      assert.deepEqual(plainPeer.socket.sent, [expected.frame.text]);
      if (useJson) assert.equal(sender.socket.objects()[0].type, "ack");
    }),
    { numRuns: Math.ceil(RUNS / 2) },
  );
  // After all that, every connection still works.
  t.hub.receive(json.conn, JSON.stringify({ type: "message", text: "still alive" }));
  await t.turn();
  assert.equal(peer.socket.objects().at(-1).text, "still alive");
  assert.ok(t.hub.size >= 4, `connections lost: ${t.hub.size}`);
  console.log(`hub fuzz: ${Math.ceil(RUNS / 2)} frames, ${closes} closed 1009 for size`);
});
