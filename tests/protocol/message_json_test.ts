/**
 * `messageJson` is `JSON.stringify` of a message, whatever the message: texts with anything
 * JSON escapes (quotes, backslashes, controls, lone surrogates), names and client ids or none,
 * `data`, a user and its info, and every engine's shape (`messageOf`).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { messageOf, type StoredBody } from "../../lib/engine/engine.ts";
import { messageJson } from "../../lib/protocol/message_json.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";

Deno.test("messageJson: the same string as JSON.stringify for any message", () => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.constantFrom('"', "\\", "\u0000", "\ud800", "é"),
  );
  const who = {
    from: fc.string({ minLength: 1 }),
    client: fc.option(fc.string(), { nil: null }),
    name: fc.option(fc.string({ unit: "binary" }), { nil: null }),
  };
  // Half the usual message (a text, nothing else), half any other body.
  const body = fc.oneof(
    fc.record({ ...who, text }),
    fc.record(
      {
        ...who,
        text,
        data: fc.jsonValue(),
        user: fc.string(),
        info: fc.dictionary(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: ["from", "client", "name"] },
    ),
  );
  let plain = 0;
  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-z0-9_-]{1,64}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/),
      fc.nat(),
      fc.nat(),
      body,
      (room, epoch, offset, ts, stored) => {
        const content = stored as StoredBody;
        if (content.text === undefined && content.data === undefined) content.text = "x";
        const m = messageOf(room, epoch, offset, ts, content);
        if (m.data === undefined && m.user === undefined && m.text !== undefined) plain++;
        assert.equal(messageJson(m), JSON.stringify(m));
      },
    ),
    { numRuns: 3000 },
  );
  assert.ok(plain > 1000, `the usual message (written out) came ${plain} times in 3000`);
});

Deno.test("messageJson: a message's fields written out in the order every engine builds them", () => {
  const m: ChatMessage = messageOf("lobby", "e1", 7, 1700000000000, {
    from: "c1",
    client: "k9",
    name: 'Ann "A"',
    text: "hi\nthere",
  });
  assert.equal(
    messageJson(m),
    '{"type":"message","room":"lobby","offset":7,"id":"e1-7","from":"c1","client":"k9",' +
      '"name":"Ann \\"A\\"","text":"hi\\nthere","ts":1700000000000}',
  );
});
