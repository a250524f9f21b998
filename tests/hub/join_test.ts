/**
 * A join that fails (the engine cannot load the room): the client hears why before the close.
 */

import assert from "node:assert/strict";
import { scriptedHub } from "../helpers/scripted_engine.ts";

Deno.test("hub: a room that cannot be loaded says unavailable before the 1011 close", async () => {
  const t = scriptedHub();
  t.engine.failRecover = new Error("redis down");
  const json = await t.connect();
  const plain = await t.connect({}, false);
  assert.deepEqual(json.socket.objects(), [{
    type: "error",
    code: "unavailable",
    message: "the server cannot load this room now; retry shortly",
  }]);
  assert.deepEqual(plain.socket.sent, [
    "error: the server cannot load this room now; retry shortly",
  ]);
  assert.deepEqual([json.socket.closeCode, plain.socket.closeCode], [1011, 1011]);
  assert.equal(t.hub.size, 0);
  assert.equal(t.hub.metrics.rejected.get("unavailable"), 2);
});
