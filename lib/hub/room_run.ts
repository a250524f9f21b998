/**
 * A room's run: the texts delivered into one room in one flush pass, kept once and shared by the
 * send queues of its members (`Connection.queue` holds ranges of it), and the frame a queue
 * becomes (`CachedFrame`).
 *
 * @module
 */

/** One queue's frame: its parts, and what was built of them (lazily, by mode). */
export interface CachedFrame {
  parts: string[];
  /** JSON mode: the parts joined with newlines. */
  joined?: string;
  /** JSON mode: `joined` encoded as one text frame. */
  frame?: Uint8Array;
  /** Plain mode: the parts encoded as text frames back to back. */
  frames?: Uint8Array;
}

/**
 * The texts (JSON or plain, one mode per run) delivered into one room in one flush pass, in
 * order, shared by the queues of its members: each member's queue holds the ranges it got
 * (`Outbound.run` makes runs, `Outbound.queueRun` gives their texts).
 *
 * @example
 * ```ts
 * const run = out.run(room, true);
 * const at = run.texts.push(json) - 1;
 * out.queueRun(conn, run, at); // conn gets texts[at]
 * ```
 */
export class RoomRun {
  readonly texts: string[] = [];
  /** The frame of the run's first `wholeCount` texts, for the members that got all of them. */
  whole: CachedFrame | null = null;
  wholeCount = 0;
}

/** Whatever holds a room's current runs (the hub's `LocalRoom`): one per mode, reset per pass. */
export interface RunHolder {
  jsonRun: RoomRun | null;
  plainRun: RoomRun | null;
}

/** Texts `from` to `to` (excluded) of a run, in a connection's queue. */
export interface RunSlice {
  run: RoomRun;
  from: number;
  to: number;
}
