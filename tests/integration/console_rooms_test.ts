/**
 * The real console client with several rooms (issue 23) against a real server: `--room a,b`
 * joins both over one connection and prefixes each message with its room while piped lines go to
 * the main room; typed in a terminal (a real pty), `/join`, `/to`, `/leave` and `/rooms`.
 */
import assert from "node:assert/strict";
import { ConsolePty } from "../helpers/console_pty.ts";
import { ConsoleProcess } from "../helpers/console_process.ts";
import { requireBinary, testWithPermissions } from "../helpers/requires.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";

const script = requireBinary("script (util-linux)", ["/usr/bin/script", "/bin/script"]);
const TIME = "\\[\\d\\d:\\d\\d:\\d\\d\\]";

/** Sends `text` from `peer` and waits for the server's ack. */
async function post(peer: TestClient, text: string): Promise<void> {
  peer.send({ type: "message", text, ref: text });
  await peer.next((f) => f.type === "ack" && f.ref === text);
}

testWithPermissions(
  "console --room ra,rb: both rooms over one connection, prefixed; piped lines to the main room",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const { client: ann } = await TestClient.join(srv.wsUrl({ room: "ra", name: "Ann" }));
    const { client: bob } = await TestClient.join(srv.wsUrl({ room: "rb", name: "Bob" }));
    const proc = new ConsoleProcess(["--url", url, "--room", "ra,rb", "--name", "bot"]);
    try {
      await proc.waitFor(/^Connected to .* \(room ra, 2 online\)$/);
      await proc.waitFor(/^\* Joined #rb \(2 online\)$/);
      await post(bob, "hello rb");
      await proc.waitFor(new RegExp(`^#rb ${TIME} Bob: hello rb$`));
      await post(ann, "hello ra");
      await proc.waitFor(new RegExp(`^#ra ${TIME} Ann: hello ra$`));
      await proc.write("to the main room\n/join rc\n");
      await proc.endInput();
      assert.equal(await proc.exit(), 0, proc.stderr);
      assert.equal(proc.stderr, "");
      assert.equal(proc.lines.at(-1), "* All 2 line(s) delivered");
      const got = await ann.next((f) => f.type === "message" && f.text === "/join rc");
      assert.deepEqual([got.room, got.name], ["ra", "bot"]);
      assert.deepEqual(ann.ofType("message").map((m) => m.text), ["to the main room", "/join rc"]);
      assert.deepEqual(bob.ofType("message").map((m) => m.text), [], "nothing sent to rb");
    } finally {
      await proc.stop();
      await ann.close();
      await bob.close();
      await srv.stop();
    }
  },
);

Deno.test({
  name: "console (tty): /join, /to, /leave and /rooms over the same connection",
  ignore: script.ignore,
  fn: async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const { client: bob } = await TestClient.join(srv.wsUrl({ room: "rb", name: "Bob" }));
    const pty = new ConsolePty(script.path, ["--url", url, "--room", "ra"], { NO_COLOR: "1" });
    try {
      await pty.waitFor(/Connected to .* \(room ra, 1 online\)/);
      await pty.type("/join rb\r");
      let from = await pty.waitFor(/\* Joined #rb \(2 online\)/);
      await post(bob, "in rb");
      from = await pty.waitFor(new RegExp(`#rb ${TIME} Bob: in rb`), from);
      await pty.type("/to rb hi rb\r");
      const got = await bob.next((f) => f.type === "message" && f.text === "hi rb");
      assert.equal(got.room, "rb");
      await pty.type("/rooms\r");
      from = await pty.waitFor(/\* Rooms: #ra \(main\), #rb/, from);
      await pty.type("/leave rb\r");
      from = await pty.waitFor(/\* Left #rb/, from);
      // Bob sees the console leave rb: the server took the connection out of the room.
      await bob.next((f) => f.type === "presence" && f.online === 1 && !f.joined);
      await pty.type("/rooms\r");
      await pty.waitFor(/\* Rooms: #ra \(main\)\r/, from);
      await pty.type("/quit\r");
      assert.equal(await pty.exit(), 0);
      assert.deepEqual(bob.ofType("message").map((m) => m.text), ["hi rb"]);
    } finally {
      await bob.close();
      await pty.stop();
      await srv.stop();
    }
  },
});
