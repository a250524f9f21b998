/**
 * Where the client stands in its room's log: the epoch and the last offset seen (sent as
 * `since`+`epoch` when resuming), and which `(epoch, offset)` pairs were already delivered.
 *
 * @module
 */

/**
 * Resume position and duplicate filter of one room.
 *
 * @example
 * ```ts
 * const pos = new ResumePosition();
 * pos.welcome("e1", 4);
 * pos.accept(5); // true: new
 * pos.accept(5); // false: duplicate
 * pos.resume; // { since: 5, epoch: "e1" }
 * ```
 */
export class ResumePosition {
  #epoch: string | null = null;
  #since: number | null = null;
  #seen = new SeenSet();

  /** What to ask for on the next connection, or null before the first welcome. */
  get resume(): { since: number; epoch: string } | null {
    return this.#epoch === null || this.#since === null
      ? null
      : { since: this.#since, epoch: this.#epoch };
  }

  /**
   * A welcome placed us at `offset` of `epoch` (history follows). A welcome of the same epoch
   * below what we saw means the room's log went back (e.g. every server restarted with an older
   * Redis snapshot): the offsets above it will name new messages, so they are forgotten.
   */
  welcome(epoch: string, offset: number): void {
    if (epoch !== this.#epoch) this.#seen.clear();
    else if (this.#since !== null && offset < this.#since) {
      const prefix = `${epoch}:`;
      this.#seen.forget((key) =>
        key.startsWith(prefix) && Number(key.slice(prefix.length)) > offset
      );
    }
    this.#epoch = epoch;
    this.#since = offset;
  }

  /** Records a message's offset; returns false when it was already delivered. */
  accept(offset: number): boolean {
    if (this.#since === null || offset > this.#since) this.#since = offset;
    return this.#seen.add(`${this.#epoch ?? ""}:${offset}`);
  }

  /** Forgets everything (another room). */
  reset(): void {
    this.#epoch = null;
    this.#since = null;
    this.#seen.clear();
  }
}

/** A set that forgets its oldest keys beyond `capacity`. */
class SeenSet {
  #keys = new Set<string>();
  #capacity: number;

  constructor(capacity = 5000) {
    this.#capacity = capacity;
  }

  /** Remembers `key`; returns false when it was already known. */
  add(key: string): boolean {
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
    return true;
  }

  /** Forgets the keys for which `drop` returns true. */
  forget(drop: (key: string) => boolean): void {
    for (const key of this.#keys) if (drop(key)) this.#keys.delete(key);
  }

  /** Forgets every key. */
  clear(): void {
    this.#keys.clear();
  }
}
