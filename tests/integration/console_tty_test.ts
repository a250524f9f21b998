/**
 * The console client on a real pseudo-terminal (through util-linux `script`): raw-mode typing,
 * incoming messages printed above the prompt without garbling the typed text, colours only
 * without `NO_COLOR`, and `sair` closing with 1000 on the wire.
 */
import assert from "node:assert/strict";
import { displayWidth } from "../../lib/console/width.ts";
import { ConsolePty } from "../helpers/console_pty.ts";
import { startWsRelay } from "../helpers/console_relay.ts";
import { requireBinary } from "../helpers/requires.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";

const script = requireBinary("script (util-linux)", ["/usr/bin/script", "/bin/script"]);
const ESC = "\x1b";

Deno.test({
  name: "console (tty): incoming text never garbles the line being typed; sair closes with 1000",
  ignore: script.ignore,
  fn: async () => {
    const srv = await startTestServer();
    const relay = startWsRelay(srv.server.port);
    const pty = new ConsolePty(script.path, ["--url", relay.url, "--room", "tty"], {
      NO_COLOR: "",
    });
    let peer: TestClient | undefined;
    try {
      await pty.waitFor(/Connected to ws:\/\/127\.0\.0\.1:\d+\/ws \(room tty, 1 online\)/);
      await pty.type("hel");
      await pty.waitFor(/> hel/);
      ({ client: peer } = await TestClient.join(srv.wsUrl({ room: "tty", name: "Bob" })));
      peer.send({ type: "message", text: "incoming", ref: "r1" });
      // The line is printed on a cleared row, in colour, and the prompt comes back with "hel".
      const line = [
        `\r${ESC}\\[2K${ESC}\\[2m\\[\\d\\d:\\d\\d:\\d\\d\\]${ESC}\\[22m `,
        `${ESC}\\[1m${ESC}\\[36mBob${ESC}\\[39m${ESC}\\[22m: incoming\r+\n> hel`,
      ].join("");
      await pty.waitFor(new RegExp(line));
      await pty.type("lo\r");
      const got = await peer.next((f) => f.type === "message");
      assert.equal(got.text, "hello");
      await pty.type("sair\r");
      assert.equal(await pty.exit(), 0);
      assert.deepEqual(relay.closeCodes, [1000], "a clean close frame, not a dropped connection");
    } finally {
      await peer?.close();
      await pty.stop();
      await relay.close();
      await srv.stop();
    }
  },
});

Deno.test({
  name: "console (tty): NO_COLOR=1 prints no colour escapes, on a terminal too",
  ignore: script.ignore,
  fn: async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const pty = new ConsolePty(script.path, ["--url", url, "--room", "plain"], { NO_COLOR: "1" });
    let peer: TestClient | undefined;
    try {
      await pty.waitFor(/Connected to ws:\/\/127\.0\.0\.1:\d+\/ws \(room plain, 1 online\)/);
      ({ client: peer } = await TestClient.join(srv.wsUrl({ room: "plain", name: "Bob" })));
      await pty.waitFor(/\* (Bob|2) joined \(2 online\)/);
      peer.send({ type: "message", text: "no colours", ref: "r1" });
      await pty.waitFor(/\[\d\d:\d\d:\d\d\] Bob: no colours\r+\n> /);
      await pty.type("x".repeat(3) + "\r");
      await peer.next((f) => f.type === "message" && f.text === "xxx");
      await pty.type("/quit\r");
      assert.equal(await pty.exit(), 0);
      const sgr = pty.output.match(new RegExp(`${ESC}\\[[\\d;]*m`, "g")) ?? [];
      assert.deepEqual(sgr, [], "no SGR (colour or dim) sequences");
      assert.ok(pty.output.includes(`\r${ESC}[2K`), "the prompt is still redrawn in place");
    } finally {
      await peer?.close();
      await pty.stop();
      await srv.stop();
    }
  },
});

Deno.test({
  name: "console (tty): wide characters typed in a 40-column terminal keep the prompt on one row",
  ignore: script.ignore,
  fn: async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const pty = new ConsolePty(
      script.path,
      ["--url", url, "--room", "wide"],
      { NO_COLOR: "1" },
      40,
    );
    let peer: TestClient | undefined;
    try {
      await pty.waitFor(/Connected to .*\(room wide, 1 online\)/);
      const typed = "漢字かなカナ한국어日本語中文字体文字列表示幅定テスト"; // 26 characters, 52 columns
      await pty.type(typed);
      await pty.waitFor(/幅定テスト$/);
      ({ client: peer } = await TestClient.join(srv.wsUrl({ room: "wide", name: "Bob" })));
      peer.send({ type: "message", text: "incoming", ref: "r1" });
      const at = await pty.waitFor(/Bob: incoming\r+\n> [^\r]*幅定テスト/);
      const prompt = pty.output.slice(at).match(/\n(> [^\r]*)/)![1];
      assert.ok(
        displayWidth(prompt) < 40,
        `${JSON.stringify(prompt)} is ${displayWidth(prompt)} columns`,
      );
      await pty.type("\x15/quit\r");
      assert.equal(await pty.exit(), 0);
    } finally {
      await peer?.close();
      await pty.stop();
      await srv.stop();
    }
  },
});
