import assert from "node:assert/strict";
import {
  clockTime,
  connectFailure,
  formatConnected,
  formatError,
  formatMessage,
  formatOwn,
  formatRoom,
  formatStatus,
  jsonLine,
  lostText,
  presenceText,
  safeText,
  useColor,
} from "../../lib/console/format.ts";
import { messageFrame } from "../helpers/fake_socket.ts";

const plain = { color: false, utc: true };
const color = { color: true, utc: true };
const ts = Date.UTC(2026, 0, 2, 9, 5, 7);

Deno.test("format: message lines are `[HH:MM:SS] <name or id>: <text>`", () => {
  assert.equal(
    formatMessage(messageFrame(1, { ts, name: "Bob", text: "hi" }), plain),
    "[09:05:07] Bob: hi",
  );
  assert.equal(
    formatMessage(messageFrame(1, { ts, name: null, from: "c8k2-4", text: "anon" }), plain),
    "[09:05:07] c8k2-4: anon",
  );
  assert.equal(clockTime(Date.UTC(2026, 0, 1, 23, 59, 0), true), "23:59:00");
});

Deno.test("format: colours only when asked, and the text is the same underneath", () => {
  const m = messageFrame(1, { ts, name: "Bob", text: "hi" });
  const coloured = formatMessage(m, color);
  assert.ok(coloured.includes("\x1b["));
  // deno-lint-ignore no-control-regex
  assert.equal(coloured.replace(/\x1b\[\d+m/g, ""), formatMessage(m, plain));
  assert.equal(formatStatus("x", plain), "* x");
  assert.equal(formatStatus("x", color), "\x1b[2m* x\x1b[22m");
  assert.ok(!formatOwn("hi", ts, plain).includes("\x1b"));
});

Deno.test("format: colour needs a terminal and no NO_COLOR", () => {
  assert.equal(useColor(true, {}), true);
  assert.equal(useColor(false, {}), false);
  assert.equal(useColor(true, { NO_COLOR: "1" }), false);
  assert.equal(useColor(true, { NO_COLOR: "" }), true, "empty NO_COLOR does not count");
});

Deno.test("format: other people's text cannot inject terminal escapes or break lines", () => {
  assert.equal(safeText("a\nb\r\nc"), "a⏎b⏎c");
  assert.equal(safeText("\x1b[2J\x07x\u202Ey\tz"), "\ufffd[2J\ufffdx\ufffdy z");
  const line = formatMessage(
    messageFrame(1, { ts, name: "B\x1bob", text: "x\x1b]0;pwned\x07" }),
    plain,
  );
  assert.ok(!line.includes("\x1b") && !line.includes("\x07"));
});

Deno.test("format: connected, presence, lost, error lines", () => {
  assert.equal(
    formatConnected("ws://h/ws", "dev", 3),
    "Connected to ws://h/ws (room dev, 3 online)",
  );
  assert.equal(
    presenceText({ online: 2, joined: { id: "c1", name: "Ann" } }),
    "Ann joined (2 online)",
  );
  assert.equal(
    presenceText({ online: 1, left: { id: "c1-2", name: null } }),
    "c1-2 left (1 online)",
  );
  assert.equal(presenceText({ online: 5, joins: 3, leaves: 1 }), "3 joined, 1 left (5 online)");
  assert.equal(presenceText({ online: 7 }), "7 online", "a count changed on other servers");
  assert.equal(
    lostText({
      state: "reconnecting",
      attempt: 2,
      retryInMs: 1250,
      closeCode: 1012,
      closeReason: "server restarting",
    }),
    "Connection lost (1012: server restarting); reconnecting in 1.3 s (attempt 2)",
  );
  assert.equal(
    formatError({ code: "too_large", message: "frame is larger than 10 bytes", ref: "r1" }, plain),
    "! too_large: frame is larger than 10 bytes (message not delivered)",
  );
  assert.equal(
    formatError({ code: "rate_limited", message: "slow down", ref: "r", retrying: true }, plain),
    "! rate_limited: slow down (will retry)",
  );
});

Deno.test("format: JSON lines carry the event name and drop the frame type", () => {
  const line = jsonLine("message", messageFrame(4, { ts, text: "x\ny" }));
  const parsed = JSON.parse(line);
  assert.equal(parsed.event, "message");
  assert.equal(parsed.type, undefined);
  assert.equal(parsed.text, "x\ny");
  assert.ok(!line.includes("\n"), "one line even with newlines in the text");
});

Deno.test("format: a failed first connection names the reason, else what the close code says", () => {
  const failed = (closeCode: number, closeReason?: string) =>
    connectFailure("ws://h/ws", {
      state: "reconnecting",
      attempt: 1,
      retryInMs: 1,
      closeCode,
      closeReason,
    });
  assert.equal(
    failed(1006, "NetworkError: failed to connect to WebSocket: dns error"),
    "could not connect to ws://h/ws (dns error, close code 1006)",
  );
  assert.equal(
    failed(1006, "tcp connect error\x1b[2J"),
    "could not connect to ws://h/ws (tcp connect error\ufffd[2J, close code 1006)",
  );
  assert.equal(
    failed(1006, ""),
    "could not connect to ws://h/ws (nothing answered, close code 1006)",
  );
  assert.equal(
    failed(4000),
    "could not connect to ws://h/ws (no welcome from the server in time, close code 4000)",
  );
  assert.equal(
    formatError({ code: "too_large", message: "too big", ref: "r" }, { color: false }, 7),
    "! too_large: too big (line 7 not delivered)",
  );
});

Deno.test("format: data shows as compact JSON, after the text when there is one", () => {
  const { text: _t, ...noText } = messageFrame(1, { ts, name: "Bob" });
  assert.equal(
    formatMessage({ ...noText, data: { order: 42, ok: true } }, plain),
    '[09:05:07] Bob: {"order":42,"ok":true}',
  );
  assert.equal(
    formatMessage({ ...messageFrame(1, { ts, name: "Bob", text: "shipped" }), data: [1] }, plain),
    "[09:05:07] Bob: shipped [1]",
  );
  assert.equal(
    formatMessage({ ...noText, data: "a\u0007b" }, plain),
    '[09:05:07] Bob: "a\\u0007b"',
  );
});

Deno.test("format: rooms are #room (yellow in colour); a refused room is not joined", () => {
  assert.equal(formatRoom("news", { color: false }), "#news");
  assert.equal(formatRoom("news", { color: true }), "\x1b[33m#news\x1b[39m");
  const refused = { code: "forbidden", message: "no", ref: "sub:news", room: "news" };
  assert.equal(formatError(refused, { color: false }), "! forbidden: no (#news not joined)");
  assert.equal(
    formatError({ ...refused, retrying: true }, { color: false }),
    "! forbidden: no (will retry)",
  );
});
