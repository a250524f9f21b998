/**
 * The real console client as a subprocess against a server in auth mode: `--token` and
 * `FANOUT_TOKEN` get in; a refused token or room prints one clear line and exits 1, at once.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { runClient } from "../helpers/console_process.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "console, auth mode: a token gets in, a refused one exits 1 with why",
  async () => {
    const srv = await startTestServer({ AUTH_SECRET: TEST_SECRET });
    const witnessToken = await hsToken({ sub: "wit", rooms: { ops: "rw" } });
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "ops", token: witnessToken }));
    const url = srv.wsUrl().split("?")[0];
    try {
      const token = await hsToken({ sub: "bot", name: "bot", rooms: { ops: "rw" } });
      const ok = await runClient(["--url", url, "--room", "ops", "--token", token], "up\n");
      assert.equal(ok.code, 0, ok.proc.stderr);
      const m = await peer.next((f) => f.type === "message" && f.text === "up");
      assert.deepEqual([m.user, m.name], ["bot", "bot"]);
      const viaEnv = await runClient(["--url", url, "--room", "ops"], "env\n", {
        FANOUT_TOKEN: token,
      });
      assert.equal(viaEnv.code, 0, viaEnv.proc.stderr);

      const started = Date.now();
      const wrongRoom = await runClient(["--url", url, "--room", "other", "--token", token], "x\n");
      assert.equal(wrongRoom.code, 1);
      assert.equal(
        wrongRoom.proc.stderr,
        "error: the server refused this room for the token (403): forbidden: the token does not grant room other\n",
      );
      const forged = await hsToken(
        { sub: "bot", rooms: { ops: "rw" } },
        "another-secret-0123456789abcdefxyz",
      );
      const bad = await runClient(["--url", url, "--room", "ops", "--token", forged], "x\n");
      assert.equal(bad.code, 1);
      assert.equal(
        bad.proc.stderr,
        "error: the server refused the token (401): unauthorized: token signature is invalid\n",
      );
      assert.ok(!bad.proc.stderr.includes(forged));
      const none = await runClient(["--url", url, "--room", "ops"], "x\n");
      assert.equal(none.code, 1);
      assert.ok(Date.now() - started < 15_000, "refusals end at once, not after retries");
      assert.deepEqual(
        (await peer.quietFor(100)).filter((f) => f.type === "message"),
        [],
        "nothing from refused clients",
      );
    } finally {
      await peer.close();
      await srv.stop();
    }
  },
);
