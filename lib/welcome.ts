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
  /** Public client id (never the private key), null without one. */
  client: string | null;
}

/**
 * Builds the welcome. Its history never holds what this very connection sent before its welcome
 * (the sender has those as acks). A resumed join (`since`+`epoch`) also leaves out the client's
 * own earlier messages (same public `client` id), which it already has; a fresh join keeps them,
 * so a reloaded page shows what it sent. `client` tells the joiner its public id.
 *
 * @example
 * ```ts
 * buildWelcome({ id: "c1", room: "lobby", client: null }, recovery, 3, limits, false).online; // 3
 * ```
 */
export function buildWelcome(
  joiner: Joiner,
  recovery: Recovery,
  online: number,
  limits: ServerLimits,
  resumed: boolean,
): WelcomeFrame {
  const own = resumed ? joiner.client : null;
  return {
    type: "welcome",
    id: joiner.id,
    client: joiner.client,
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
