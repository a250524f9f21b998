/**
 * One room as this process holds it: its members, the connections still joining (with the
 * messages held for them until their welcome), presence waiting to be announced, and what the
 * engine last said about the room's epoch.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import { PresenceBatch } from "./presence_batch.ts";
import type { ChatMessage } from "../protocol/frames.ts";

/**
 * The local state of one room.
 *
 * @example
 * ```ts
 * const room = new LocalRoom("lobby", engine.join("lobby"));
 * room.joining.set(conn, []);
 * room.size; // 1
 * ```
 */
export class LocalRoom {
  readonly members = new Set<Connection>();
  /** Connections waiting for their welcome, with the messages delivered meanwhile. */
  readonly joining = new Map<Connection, ChatMessage[]>();
  readonly presence = new PresenceBatch();
  /** Epoch announced by the engine's latest reset of this room (null before any). */
  epoch: string | null = null;
  /** How many resets the engine announced. */
  resets = 0;

  constructor(readonly name: string, readonly ready: Promise<void>) {}

  /** Members and joiners. */
  get size(): number {
    return this.members.size + this.joining.size;
  }
}
