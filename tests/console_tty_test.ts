/**
 * The console client on a real pseudo-terminal (through util-linux `script`): raw-mode typing,
 * incoming messages printed above the prompt without garbling the typed text, colours, `sair`.
 */
import assert from "node:assert/strict";
import { requireBinary } from "./helpers/requires.ts";
import { startTestServer } from "./helpers/server.ts";
import { TestClient } from "./helpers/ws_client.ts";

const script = requireBinary("script (util-linux)", ["/usr/bin/script", "/bin/script"]);
const ROOT = new URL("..", import.meta.url).pathname;
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

Deno.test({
  name: "console (tty): incoming text never garbles the line being typed; sair exits 0",
  ignore: script.ignore,
  fn: async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const command = [
      Deno.execPath(),
      "run",
      "-P=client",
      "client.ts",
      "--url",
      url,
      "--room",
      "tty",
    ]
      .map(quote).join(" ");
    const child = new Deno.Command(script.path, {
      args: ["-qfec", command, "/dev/null"],
      cwd: ROOT,
      env: { TZ: "UTC", TERM: "xterm", NO_COLOR: "" },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const stdin = child.stdin.getWriter();
    let output = "";
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) output += chunk;
    })();
    const waitFor = async (re: RegExp) => {
      const deadline = Date.now() + 8000;
      while (!re.test(output)) {
        if (Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(output)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const type = (keys: string) => stdin.write(new TextEncoder().encode(keys));
    let peer: TestClient | undefined;
    try {
      await waitFor(/Connected to ws:\/\/127\.0\.0\.1:\d+\/ws \(room tty, 1 online\)/);
      await type("hel");
      await waitFor(/> hel/);
      ({ client: peer } = await TestClient.join(srv.wsUrl({ room: "tty", name: "Bob" })));
      peer.send({ type: "message", text: "incoming", ref: "r1" });
      // The line is printed on a cleared row, in colour, and the prompt comes back with "hel".
      const ESC = "\x1b";
      const line = [
        `\r${ESC}\\[2K${ESC}\\[2m\\[\\d\\d:\\d\\d:\\d\\d\\]${ESC}\\[22m `,
        `${ESC}\\[1m${ESC}\\[36mBob${ESC}\\[39m${ESC}\\[22m: incoming\r+\n> hel`,
      ].join("");
      await waitFor(new RegExp(line));
      await type("lo\r");
      const got = await peer.next((f) => f.type === "message");
      assert.equal(got.text, "hello");
      await type("sair\r");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const status = await child.status;
      clearTimeout(killer);
      assert.equal(status.code, 0);
      await peer.next((f) => f.type === "presence" && (f.left || f.leaves));
    } finally {
      await peer?.close();
      await stdin.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await child.status;
      await reading;
      await srv.stop();
    }
  },
});
