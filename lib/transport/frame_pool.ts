/**
 * Buffers for the frames a socket builds for itself alone and writes once (a sender's share of a
 * room's run, with its acks between), handed back once written and taken again by the next such
 * frame. A fresh `Uint8Array` of a few kilobytes costs far more than its bytes: a backing store
 * allocated and zeroed outside V8's heap, counted as external memory, and freed by a later
 * collection. Ten senders each got one of about 9 KB per event-loop turn; built in reused buffers,
 * the fan-out's JavaScript per delivery fell by about 8 % (`deno task bench:js`).
 *
 * The pool is bounded: at most `perClass` free buffers of each size class (powers of two from 1
 * KiB to 64 KiB, for frames from 512 bytes to 64 KiB), about 4 MiB in all by default, whatever the
 * clients do. A frame outside the classes is allocated as before.
 *
 * @module
 */

/** The smallest pooled buffer (2^10 bytes); smaller frames are allocated as they come. */
const MIN_SHIFT = 10;
/** The largest pooled buffer (2^16 bytes); larger frames are allocated as they come. */
const MAX_SHIFT = 16;

/** Options of {@linkcode FramePool}. */
export interface FramePoolOptions {
  /** Free buffers kept per size class at most (default 32). */
  perClass?: number;
}

/**
 * Size-classed free lists of frame buffers.
 *
 * @example
 * ```ts
 * const pool = new FramePool();
 * const frame = pool.take(9000)!; // a view of 9000 bytes over a 16 KiB buffer
 * // ... fill it, write it, and once the write completed:
 * pool.give(frame);
 * pool.take(9100)!.buffer === frame.buffer; // true: the same buffer again
 * ```
 */
export class FramePool {
  readonly #perClass: number;
  readonly #free: ArrayBuffer[][] = [];

  constructor(options: FramePoolOptions = {}) {
    const perClass = options.perClass ?? 32;
    if (!Number.isInteger(perClass) || perClass < 0) {
      throw new RangeError(`perClass must be a non-negative integer, got ${perClass}`);
    }
    this.#perClass = perClass;
    for (let s = MIN_SHIFT; s <= MAX_SHIFT; s++) this.#free.push([]);
  }

  /**
   * A view of exactly `size` bytes over a buffer of the smallest class that holds it (a free one
   * when there is one; its old bytes are still there, to be overwritten), or null when `size` is
   * outside the pooled classes.
   */
  take(size: number): Uint8Array | null {
    if (size > 1 << MAX_SHIFT || size < 1 << (MIN_SHIFT - 1)) return null;
    const c = classOf(size);
    const buffer = this.#free[c].pop() ?? new ArrayBuffer(1 << (c + MIN_SHIFT));
    return new Uint8Array(buffer, 0, size);
  }

  /**
   * Takes back the buffer under `frame` for a later `take`, when it is one of the pool's sizes
   * and its class has room; otherwise it is left to the collector. Only a frame nothing else
   * refers to any more may be given back: its bytes will be overwritten.
   */
  give(frame: Uint8Array): void {
    const buffer = frame.buffer;
    if (!(buffer instanceof ArrayBuffer) || frame.byteOffset !== 0) return;
    const bytes = buffer.byteLength;
    if (bytes < 1 << MIN_SHIFT || bytes > 1 << MAX_SHIFT || (bytes & (bytes - 1)) !== 0) return;
    const free = this.#free[classOf(bytes)];
    if (free.length < this.#perClass) free.push(buffer);
  }

  /** Bytes of the free buffers held. */
  get heldBytes(): number {
    let bytes = 0;
    for (let c = 0; c < this.#free.length; c++) bytes += this.#free[c].length << (c + MIN_SHIFT);
    return bytes;
  }
}

/** The class of a buffer of at least `size` bytes: 0 for 1 KiB, 1 for 2 KiB, ... */
function classOf(size: number): number {
  return size <= 1 << MIN_SHIFT ? 0 : 32 - Math.clz32(size - 1) - MIN_SHIFT;
}

/**
 * The pool every socket shares unless given another.
 *
 * @example
 * ```ts
 * new ServerWebSocket({ stream, maxMessageBytes, framePool: sharedFramePool });
 * ```
 */
export const sharedFramePool: FramePool = new FramePool();
