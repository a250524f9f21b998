/**
 * The client core's identity: the private key it sends in the handshake, the public id the
 * welcome gives it (the only id its own messages carry), and the errors that end a message
 * (`ref_conflict`, `invalid_text`).
 */

import assert from "node:assert/strict";
import { FanoutClient } from "../../lib/client/client.ts";
import { secretToken } from "../../lib/shared/ids.ts";
import { fakeClient, messageFrame, MY_PUBLIC_ID } from "../helpers/fake_socket.ts";

Deno.test("identity: only messages carrying the welcome's public id are our own", () => {
  const t = fakeClient();
  assert.equal(t.client.publicId, null, "unknown before the first welcome");
  const socket = t.goOnline({
    offset: 3,
    history: [
      messageFrame(1, { client: MY_PUBLIC_ID, text: "mine" }),
      // Someone who used our private key's text as its own id gets no "own" mark for it.
      messageFrame(2, { client: "myclient1", text: "claims to be me" }),
      messageFrame(3, { client: "otherclient", text: "theirs" }),
    ],
  });
  assert.equal(t.client.publicId, MY_PUBLIC_ID);
  assert.equal(t.net.last.query.get("client"), "myclient1", "the key goes in the handshake");
  socket.receive(
    messageFrame(4, { client: "myclient1", text: "live forgery" }),
    messageFrame(5, { client: MY_PUBLIC_ID, text: "live echo of mine" }),
  );
  assert.deepEqual(t.of("message").map((m) => [m.text, m.own]), [
    ["mine", true],
    ["claims to be me", false],
    ["theirs", false],
    ["live forgery", false],
  ]);
  assert.equal(t.of("welcome")[0].client, MY_PUBLIC_ID);
  t.client.disconnect();
});

Deno.test("identity: a welcome without a public id makes nothing our own", () => {
  const t = fakeClient();
  t.goOnline({
    client: null,
    offset: 1,
    history: [messageFrame(1, { client: "myclient1" })],
  });
  assert.equal(t.client.publicId, null);
  assert.deepEqual(t.of("message").map((m) => m.own), [false]);
  t.client.disconnect();
});

Deno.test("identity: the default key is 16 random characters of the key syntax", () => {
  const make = () => new FanoutClient({ url: "ws://h/ws", room: "lobby" }).clientId;
  const keys = [...Array.from({ length: 10 }, make), secretToken(16)];
  for (const key of keys) assert.match(key, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(new Set(keys).size, keys.length);
  assert.ok(
    keys.slice(0, 10).some((key) => /[A-Z_-]/.test(key)),
    "6 bits a character (secretToken), not randomToken's [0-9a-z]",
  );
  const seeded = (random: () => number) =>
    new FanoutClient({ url: "ws://h/ws", room: "lobby", random }).clientId;
  assert.equal(seeded(() => 0), seeded(() => 0), "an injected random source is still used");
});

Deno.test("identity: ref_conflict is final: the message leaves the outbox with an error", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  const ref = t.client.send("hello");
  const message = `ref "${ref}" was already used for a different message; send it with a new ref`;
  socket.receive({ type: "error", code: "ref_conflict", message, ref });
  assert.deepEqual(t.client.outbox, []);
  assert.deepEqual(t.of("error"), [{ code: "ref_conflict", message, ref }]);
  socket.serverClose(1006);
  t.clock.advance(1000);
  t.net.last.open();
  assert.deepEqual(t.net.last.frames("message"), [], "not resent after a reconnect");
  t.client.disconnect();
});

Deno.test("identity: text with a control character is refused locally with invalid_text", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  const ref = t.client.send("ding\u0007");
  assert.deepEqual(t.of("error"), [{
    code: "invalid_text",
    message:
      "text must not contain control characters other than tab and newline; got U+0007 at character 5",
    ref,
  }]);
  t.client.send("tab\tand\nnewline");
  assert.deepEqual(socket.frames("message").map((f) => f.text), ["tab\tand\nnewline"]);
  assert.equal(t.client.outbox.length, 1);
  t.client.disconnect();
});
