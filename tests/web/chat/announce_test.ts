import assert from "node:assert/strict";
import { announcement } from "../../../lib/web/chat/announce.ts";
import type { LogEntry, LogKind } from "../../../lib/web/chat/types.ts";

let seq = 0;
const entry = (kind: LogKind, text: string, name?: string): LogEntry =>
  name === undefined ? { seq: ++seq, at: 0, kind, text } : { seq: ++seq, at: 0, kind, text, name };
const ours = (kind: LogKind, text: string, name?: string): LogEntry => ({
  ...entry(kind, text, name),
  own: true,
});

Deno.test("announcement: one message is read out with its sender", () => {
  assert.equal(announcement([entry("message", "hello", "Ann")]), "Ann: hello");
  const long = announcement([entry("message", "x".repeat(500), "Ann")]);
  assert.ok(long.length <= 140 && long.endsWith("…"), long);
});

Deno.test("announcement: a burst is summed up with its senders, not only its last line", () => {
  const burst = [
    entry("message", "one", "Ann"),
    entry("message", "two", "Bob"),
    entry("message", "three", "Ann"),
  ];
  assert.equal(announcement(burst), "3 new messages from Ann, Bob.");
  const crowd = ["A", "B", "C", "D", "E"].map((n) => entry("message", "hi", n));
  assert.equal(announcement(crowd), "5 new messages from A, B and 3 others.");
});

Deno.test("announcement: presence, gaps and errors; own lines and status are left out", () => {
  assert.equal(
    announcement([
      entry("status", "Joined: #lobby, 2 online"),
      ours("join", "You joined"),
      ours("sent", "mine", "You"),
      ours("message", "my old one", "You"),
      entry("join", "Cy joined"),
      entry("message", "hey", "Cy"),
      entry("gap", "History gap: the server restarted and lost its log (new epoch)"),
    ]),
    "Cy: hey Cy joined. History gap: the server restarted and lost its log (new epoch)",
  );
  const churn = ["A", "B", "C"].map((n) => entry("leave", `${n} left`));
  assert.equal(announcement(churn), "3 people joined or left.");
  assert.equal(announcement([entry("status", "Online"), entry("room", "Switched to #x")]), "");
});

Deno.test("announcement: someone else who calls themselves You is read out like anyone", () => {
  assert.equal(announcement([entry("join", "You joined")]), "You joined.");
  assert.equal(announcement([entry("message", "hi", "You")]), "You: hi");
});
