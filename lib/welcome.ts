/**
 * The welcome frame a joining connection gets first.
 *
 * @module
 */

import type { Recovery } from "./engine.ts";
import type { ServerLimits, WelcomeFrame } from "./protocol.ts";

/** Who is joining, as the welcome needs it. */
export interface Joiner {
  id: string;
  room: string;
  client: string | null;
}

/**
 * Builds the welcome. The history leaves out the client's own messages (same `client` id) and
 * those this very connection sent before its welcome.
 *
 * @example
 * ```ts
 * buildWelcome({ id: "c1", room: "lobby", client: null }, recovery, 3, limits).online; // 3
 * ```
 */
export function buildWelcome(
  joiner: Joiner,
  recovery: Recovery,
  online: number,
  limits: ServerLimits,
): WelcomeFrame {
  const own = joiner.client;
  return {
    type: "welcome",
    id: joiner.id,
    room: joiner.room,
    epoch: recovery.epoch,
    offset: recovery.offset,
    online,
    recovered: recovery.recovered,
    history: recovery.history.filter((m) =>
      m.from !== joiner.id && (own === null || m.client !== own)
    ),
    limits,
  };
}
