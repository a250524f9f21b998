/**
 * The conformance echo server (`scripts/echo_server.ts`) over a real socket: Fanout's transport
 * echoes text and binary messages (a fragmented one joined), refuses a plain request with 426,
 * and applies its message limit (1009 past it); and its flags.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import { Opcode } from "../../lib/transport/ws_frames.ts";
import { parseEchoArgs, startEchoServer } from "../../scripts/echo_server.ts";
import { testWithPermissions } from "../helpers/requires.ts";
import { maskedFrame, serverFrames } from "../helpers/masked_frames.ts";

const enc = new TextEncoder();

/** Opens a raw WebSocket to `port`, writes `frames`, and reads until `count` frames came back. */
async function exchange(port: number, frames: Uint8Array[], count: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    for (const frame of frames) await conn.write(frame);
    let bytes = new Uint8Array(0);
    const buf = new Uint8Array(64 * 1024);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const head = new TextDecoder().decode(bytes).indexOf("\r\n\r\n");
      if (head >= 0 && serverFrames(bytes.subarray(head + 4)).length >= count) {
        return {
          head: new TextDecoder().decode(bytes.subarray(0, head)),
          frames: serverFrames(bytes.subarray(head + 4)),
        };
      }
      const n = await conn.read(buf);
      if (n === null) break;
      const grown = new Uint8Array(bytes.length + n);
      grown.set(bytes);
      grown.set(buf.subarray(0, n), bytes.length);
      bytes = grown;
    }
    throw new Error(`fewer than ${count} frames came back: ${bytes.length} bytes`);
  } finally {
    conn.close();
  }
}

testWithPermissions(
  "echo server: text, binary and fragmented messages come back as sent",
  async () => {
    const echo = startEchoServer({ config: loadConfig({ HOST: "127.0.0.1", PORT: "0" }) });
    try {
      const { head, frames } = await exchange(echo.port, [
        maskedFrame({ opcode: Opcode.text, payload: "héllo" }),
        maskedFrame({ opcode: Opcode.binary, payload: new Uint8Array([0, 255, 7]) }),
        maskedFrame({ opcode: Opcode.text, payload: "a", fin: false }),
        maskedFrame({ opcode: Opcode.continuation, payload: "b" }),
      ], 3);
      assert.match(head, /^HTTP\/1\.1 101 /);
      assert.deepEqual(frames.map((f) => f.opcode), [Opcode.text, Opcode.binary, Opcode.text]);
      assert.equal(frames[0].text, "héllo");
      assert.deepEqual([...frames[1].payload], [0, 255, 7]);
      assert.equal(frames[2].text, "ab");
    } finally {
      await echo.close();
    }
  },
);

testWithPermissions("echo server: a plain request gets 426 with the reason", async () => {
  const echo = startEchoServer({ config: loadConfig({ HOST: "127.0.0.1", PORT: "0" }) });
  try {
    const res = await fetch(`http://127.0.0.1:${echo.port}/`);
    assert.equal(res.status, 426);
    assert.match(await res.text(), /^not a WebSocket handshake: 'connection' header/);
  } finally {
    await echo.close();
  }
});

testWithPermissions(
  "echo server: the message limit is 4 × MAX_MESSAGE_BYTES, or the flag's",
  async () => {
    const config = loadConfig({ HOST: "127.0.0.1", PORT: "0", MAX_MESSAGE_BYTES: "100" });
    for (
      const [limit, sent, code] of [[undefined, 400, null], [undefined, 401, 1009], [
        1000,
        1000,
        null,
      ], [1000, 1001, 1009]] as const
    ) {
      const echo = startEchoServer({ config, maxMessageBytes: limit });
      try {
        const { frames } = await exchange(echo.port, [
          maskedFrame({ opcode: Opcode.text, payload: "x".repeat(sent) }),
        ], 1);
        const what = `limit ${limit ?? "default"}, ${sent} bytes`;
        if (code === null) assert.equal(frames[0].text?.length, sent, what);
        else {
          assert.equal(frames[0].opcode, Opcode.close, what);
          assert.equal((frames[0].payload[0] << 8) | frames[0].payload[1], code, what);
        }
      } finally {
        await echo.close();
      }
    }
  },
);

Deno.test("parseEchoArgs: --port, --host, --max-message-bytes and --max-fragments; bad ones named", () => {
  assert.deepEqual(parseEchoArgs([]), { env: {} });
  assert.deepEqual(
    parseEchoArgs([
      "--port",
      "9001",
      "--host=0.0.0.0",
      "--max-message-bytes",
      "16777216",
      "--max-fragments=65536",
    ]),
    { env: { PORT: "9001", HOST: "0.0.0.0" }, maxMessageBytes: 16777216, maxFragments: 65536 },
  );
  assert.throws(
    () => parseEchoArgs(["--max-fragments", "0"]),
    /--max-fragments needs a positive integer, got "0"/,
  );
  assert.throws(() => parseEchoArgs(["--port"]), /--port needs a value/);
  assert.throws(
    () => parseEchoArgs(["--max-message-bytes", "1.5"]),
    /--max-message-bytes needs a positive integer, got "1.5"/,
  );
  assert.throws(() => parseEchoArgs(["--verbose", "1"]), /unknown argument "--verbose"/);
});
