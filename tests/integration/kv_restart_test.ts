/**
 * The KV engine across a crash, with real processes: `deno task start`'s permissions, ENGINE=kv
 * on a file under `data/` (where the start task may write), `kill -9`, and a restart on the same
 * file. Also what a KV_PATH that cannot be used does at start.
 */
import assert from "node:assert/strict";
import { startProcessServer } from "../helpers/process_server.ts";
import { type Frame, TestClient } from "../helpers/ws_client.ts";

const DATA = new URL("../../data/", import.meta.url);

/** A KV file under `data/` for one test, removed (with SQLite's side files) afterwards. */
async function dataFile(name: string): Promise<{ path: string; remove(): Promise<void> }> {
  await Deno.mkdir(DATA, { recursive: true });
  const file = `test-${name}-${crypto.randomUUID().slice(0, 8)}.sqlite3`;
  return {
    path: `data/${file}`,
    async remove() {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) {
        await Deno.remove(new URL(file + suffix, DATA)).catch(() => {});
      }
    },
  };
}

const acked = (c: TestClient, ref: string) =>
  c.next((f: Frame) => f.type === "ack" && f.ref === ref, 5000);

Deno.test("kv: after kill -9 and a restart on the same file, a resume gets exactly what it missed", async () => {
  const file = await dataFile("restart");
  const env = { ENGINE: "kv", KV_PATH: file.path };
  let server = await startProcessServer({ env });
  try {
    const key = "senderkey-0001";
    const reader = await TestClient.join(server.wsUrl({ room: "r" }));
    const { epoch } = reader.welcome;
    let sender = await TestClient.join(server.wsUrl({ room: "r", client: key }));
    for (const i of [1, 2]) {
      sender.client.send({ type: "message", text: `m${i}`, ref: `r${i}` });
      await acked(sender.client, `r${i}`);
    }
    const seen = await reader.client.next((f: Frame) => f.type === "message" && f.offset === 2);
    assert.equal(seen.text, "m2");
    await reader.client.close();
    const acks: Frame[] = [];
    for (const i of [3, 4, 5]) {
      sender.client.send({ type: "message", text: `m${i}`, ref: `r${i}` });
      acks.push(await acked(sender.client, `r${i}`));
    }
    assert.deepEqual(acks.map((a) => a.offset), [3, 4, 5]);

    await server.kill(); // SIGKILL: no shutdown, nothing flushed on the way out
    await sender.client.closed;
    server = await startProcessServer({ env });
    assert.equal((await fetch(server.httpUrl("/healthz"))).status, 200);

    const back = await TestClient.join(server.wsUrl({ room: "r", since: "2", epoch }));
    assert.equal(back.welcome.epoch, epoch, "the epoch survived");
    assert.equal(back.welcome.offset, 5);
    assert.equal(back.welcome.recovered, true);
    assert.deepEqual(
      back.welcome.history.map((m: Frame) => [m.offset, m.text]),
      [[3, "m3"], [4, "m4"], [5, "m5"]],
      "exactly what it missed, nothing twice",
    );

    sender = await TestClient.join(server.wsUrl({ room: "r", client: key }));
    sender.client.send({ type: "message", text: "m5", ref: "r5" }); // its ack was lost, say
    const again = await acked(sender.client, "r5");
    assert.equal(again.offset, 5, "the resend is recognised, not stored again");
    assert.equal(again.ts, acks[2].ts);
    sender.client.send({ type: "message", text: "m6", ref: "r6" });
    assert.equal((await acked(sender.client, "r6")).offset, 6);
    const live = await back.client.next((f: Frame) => f.type === "message");
    assert.deepEqual([live.offset, live.text], [6, "m6"], "only the new message is delivered");
    await sender.client.close();
    await back.client.close();
  } finally {
    await server.stop();
    await file.remove();
  }
});

Deno.test("kv: a corrupt KV_PATH, or one the start task may not write, stops the start with a clear error", async () => {
  const file = await dataFile("corrupt");
  try {
    await Deno.writeTextFile(
      new URL(file.path.slice("data/".length), DATA),
      "not a database ".repeat(300),
    );
    await assert.rejects(
      startProcessServer({ env: { ENGINE: "kv", KV_PATH: file.path } }),
      (err: Error) => {
        assert.match(err.message, /exited with code 1/);
        assert.match(
          err.message,
          new RegExp(
            `fanout: cannot start: KV_PATH "${file.path}": cannot be used as a Deno KV store: .*not a database`,
          ),
        );
        return true;
      },
    );
    const outside = await Deno.makeTempDir({ prefix: "fanout_kv_denied_" });
    try {
      await assert.rejects(
        startProcessServer({ env: { ENGINE: "kv", KV_PATH: `${outside}/kv.sqlite3` } }),
        (err: Error) => {
          assert.match(err.message, /exited with code 1/);
          assert.match(err.message, /fanout: cannot start: KV_PATH ".*": .*--allow-write/);
          return true;
        },
      );
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  } finally {
    await file.remove();
  }
});
