/**
 * Bounded memory of message keys (`epoch:offset`) the client has already delivered.
 *
 * @module
 */

/**
 * A set that forgets its oldest keys beyond `capacity`.
 *
 * @example
 * ```ts
 * const seen = new SeenSet(2);
 * seen.add("e:1"); // true: new
 * seen.add("e:1"); // false: duplicate
 * ```
 */
export class SeenSet {
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

  get size(): number {
    return this.#keys.size;
  }
}
