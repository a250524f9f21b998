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
  /** `cum[i]`: the length of texts `0..i-1` together (UTF-16 units), for a range's bytes. */
  readonly cum: number[] = [];
  /** The length of every text together. */
  bytes = 0;
  /**
   * JSON runs: the members that follow the run (every text of it is theirs, none is queued for
   * them one by one), by connection id; null once the run stopped having followers (then every
   * member is visited per message). See `Outbound.follow`. Members are the room's
   * `Subscription`s, untyped here (`connection.ts` imports this module).
   */
  followers: Map<string, unknown> | null = null;
  /** The members visited per message while the run has followers (they do not follow it). */
  readonly explicit: unknown[] = [];
  /** The room's `members.version`, epoch and latest offset the followers were taken for. */
  version = -1;
  epoch = "";
  lastOffset = -Infinity;
  /** The frame of the run's first `wholeCount` texts, for the members that got all of them. */
  whole: CachedFrame | null = null;
  wholeCount = 0;
  /** Set when the pass is flushed: no text is added any more. */
  sealed = false;
  #payload: RunPayload | null = null;
  #frames: RunFrames | null = null;

  /**
   * Plain mode: the texts as text frames back to back, with where each starts (made once, for a
   * sealed run, by `by`: the socket's encoding), so that a range of texts is a range of bytes.
   */
  frames(by: FrameEncoder): RunFrames {
    return this.#frames ??= by.encodeTextsAt(this.texts);
  }

  /**
   * The texts joined with newlines as UTF-8 (made once, for a sealed run), with where each text
   * starts in it when every text is ASCII (then a range of texts is a range of bytes; null
   * otherwise).
   */
  payload(): RunPayload {
    if (this.#payload !== null) return this.#payload;
    const texts = this.texts;
    const joined = texts.length === 1 ? texts[0] : texts.join("\n");
    const bytes = encoder.encode(joined);
    let starts: number[] | null = null;
    if (bytes.length === joined.length) {
      starts = new Array(texts.length + 1);
      let at = 0;
      for (let i = 0; i < texts.length; i++) {
        starts[i] = at;
        at += texts[i].length + 1;
      }
      starts[texts.length] = at;
    }
    return this.#payload = { bytes, starts };
  }
}

/** A run's texts joined with newlines, as UTF-8, and where each starts (ASCII runs only). */
export interface RunPayload {
  bytes: Uint8Array;
  /** Byte offset of text `i` (and one past the end: its length plus one), or null. */
  starts: number[] | null;
}

/** A run's texts as text frames back to back, and where each starts (and the last ends). */
export interface RunFrames {
  bytes: Uint8Array;
  starts: number[];
}

/** What encodes a plain run's frames: a socket that has `encodeTextsAt`. */
export interface FrameEncoder {
  encodeTextsAt(texts: readonly string[]): RunFrames;
}

const encoder = new TextEncoder();

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
