/**
 * The SIGKILL scenario shared by the memory and Redis chaos tests: one Fanout process is killed
 * twice while a client sends to three receivers, and restarted each time on the same port.
 *
 * @module
 */

import { startProcessServer } from "../helpers/process_server.ts";
import { freePort } from "../helpers/server.ts";
import { ChaosClient } from "./chaos_client.ts";
import { waitUntil } from "./chaos_scenario.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a run leaves for the test to check; `stop` ends the clients and the server. */
export interface CrashRounds {
  sender: ChaosClient;
  receivers: ChaosClient[];
  all: ChaosClient[];
  /** Messages the sender sent (each with its own ref). */
  sent: number;
  /** The epoch of the first welcome. */
  firstEpoch: string | null;
  stop(): Promise<void>;
}

/**
 * Runs two kill-and-restart rounds (500 ms of sending, SIGKILL, 200 ms of sending into the outage,
 * restart, wait until every client is back), sends `tailMs` more and waits until every message is
 * acknowledged.
 *
 * @example
 * ```ts
 * const run = await crashRounds({ env: {}, room: "crash", prefix: "k" });
 * try { assert.equal(run.sender.acked.size, run.sent); } finally { await run.stop(); }
 * ```
 */
export async function crashRounds(
  options: { env: Record<string, string>; room: string; prefix: string; tailMs?: number },
): Promise<CrashRounds> {
  const port = freePort();
  const env = { PORT: String(port), RATE_LIMIT: "200", RATE_BURST: "200", ...options.env };
  let server = await startProcessServer({ env });
  const url = () => `ws://127.0.0.1:${port}/ws`;
  const make = (name: string) =>
    new ChaosClient({ url, room: options.room, client: name, retryMs: 100 });
  const sender = make(`sender-${options.prefix}1`);
  const receivers = Array.from({ length: 3 }, (_, i) => make(`receiver-${i}`));
  const all = [sender, ...receivers];
  const stop = async () => {
    await Promise.all(all.map((c) => c.stop()));
    await server.stop();
  };
  let sent = 0;
  const sendFor = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      sender.send(`${options.prefix}${sent}`, `${options.prefix}${sent}`);
      sent++;
      await sleep(20);
    }
  };
  try {
    for (const c of all) c.start();
    await waitUntil("everyone is welcomed", () => all.every((c) => c.ready));
    const firstEpoch = sender.epoch;
    for (let round = 1; round <= 2; round++) {
      await sendFor(500);
      await server.kill(); // SIGKILL while messages are in flight
      await sendFor(200); // clients keep queueing while the server is down
      server = await startProcessServer({ env });
      await waitUntil(
        "everyone is back",
        () => all.every((c) => c.ready && c.welcomes.length > round),
      );
    }
    await sendFor(options.tailMs ?? 500);
    await waitUntil("every message is acknowledged", () => sender.outbox.size === 0);
    return { sender, receivers, all, sent, firstEpoch, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
