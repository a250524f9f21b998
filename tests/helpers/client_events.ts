/**
 * Waiting for a client core's event in tests against real servers.
 *
 * @module
 */

import type { ClientEvents, FanoutClient } from "../../lib/client/client.ts";

/**
 * Resolves with the first `type` event of `client` that `match` accepts (listening from now on),
 * or rejects after `timeoutMs`.
 *
 * @example
 * ```ts
 * const online = waitForEvent(client, "state", (s) => s.state === "online");
 * client.connect();
 * await online;
 * ```
 */
export function waitForEvent<K extends keyof ClientEvents>(
  client: FanoutClient,
  type: K,
  match: (event: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(type, (event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}
