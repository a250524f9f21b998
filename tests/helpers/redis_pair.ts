/**
 * Two Fanout instances on one test Redis, with a real `FanoutClient` on each (Ann on the first,
 * Bob on the second) in one room: the set-up of the tests where Redis loses or rolls back a room.
 *
 * @module
 */

import { FanoutClient, type FanoutClientOptions } from "../../lib/client/client.ts";
import type { TestRedis } from "./redis.ts";
import { eventually } from "./redis_peer.ts";
import { startTestServer, type TestServer } from "./server.ts";

/** Two instances and their clients, online. */
export interface RedisPair {
  servers: TestServer[];
  ann: FanoutClient;
  bob: FanoutClient;
  /** Disconnects the clients and stops the instances (not Redis). */
  close(): Promise<void>;
}

/**
 * Starts two instances on `redis` and connects Ann and Bob to `room`, one on each.
 *
 * @example
 * ```ts
 * const pair = await redisPair(redis, "snap", { REDIS_TIMEOUT_MS: "500" });
 * try { pair.ann.send("hi"); } finally { await pair.close(); }
 * ```
 */
export async function redisPair(
  redis: TestRedis,
  room: string,
  env: Record<string, string> = {},
  options: Partial<FanoutClientOptions> = {},
): Promise<RedisPair> {
  const serverEnv = { REDIS_URL: redis.url, PRESENCE_TTL_MS: "900", ...env };
  const servers = [await startTestServer(serverEnv), await startTestServer(serverEnv)];
  const [ann, bob] = servers.map((server, i) =>
    new FanoutClient({
      url: server.wsUrl().split("?")[0],
      room,
      name: i === 0 ? "Ann" : "Bob",
      backoff: { baseMs: 50, capMs: 200 },
      ...options,
    })
  );
  const close = async () => {
    for (const c of [ann, bob]) c.disconnect();
    await Promise.all([ann, bob].map((c) => c.whenClosed()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (const c of [ann, bob]) c.connect();
    await eventually("both online", () => ann.state === "online" && bob.state === "online");
  } catch (err) {
    await close();
    throw err;
  }
  return { servers, ann, bob, close };
}
