/**
 * A minimal typed event emitter for the client core (no DOM `EventTarget` needed).
 *
 * @module
 */

/**
 * Calls listeners by event name. A listener that throws is reported with `onError` and does not
 * stop the others or the client.
 *
 * @example
 * ```ts
 * const events = new Emitter<{ tick: { n: number } }>();
 * const off = events.on("tick", (e) => console.log(e.n));
 * events.emit("tick", { n: 1 }); // logs 1
 * off();
 * ```
 */
export class Emitter<Events extends object> {
  #listeners = new Map<keyof Events, Set<(event: never) => void>>();
  #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void = (err) => console.error(err)) {
    this.#onError = onError;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, fn: (event: Events[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    const listener = fn as (event: never) => void;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Calls every listener of `type` with `event`, in the order they were added. */
  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (event: Events[K]) => void)(event);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
