/**
 * A fake of the `BroadcastChannel` between the KV engines of one process's workers: every
 * channel it makes reaches all the others (never itself), with a structured clone of each post
 * as the real one does. Automatic (each post delivered a turn later, in order) or manual (posts
 * wait in a queue until the test delivers, drops or reorders them).
 *
 * @module
 */

import type { PeerChannel, PeerPost } from "../../lib/engine/kv/kv_peers.ts";

/** A post on its way to one listener. */
export interface InFlight {
  to: number;
  post: PeerPost;
}

/**
 * Channels that reach each other.
 *
 * @example
 * ```ts
 * const bus = new PeerBus("manual");
 * const a = new KvEngine({ ...options, peers: bus.channel() });
 * bus.deliver((f) => f.post.kind === "commit"); // hand the queued commits over
 * ```
 */
export class PeerBus {
  /** Posts waiting (manual mode). */
  queue: InFlight[] = [];
  /** Every post made, in order. */
  readonly posts: PeerPost[] = [];
  #listeners = new Map<number, (message: unknown) => void>();
  #next = 0;

  constructor(readonly mode: "auto" | "manual" = "auto") {}

  /** A new channel on the bus. */
  channel(): PeerChannel {
    const id = this.#next++;
    let open = true;
    return {
      post: (post) => {
        if (!open) throw new Error(`post on a closed channel: ${post.kind}`);
        this.posts.push(post);
        for (const to of this.#listeners.keys()) {
          if (to === id) continue;
          const flight = { to, post: structuredClone(post) };
          if (this.mode === "manual") this.queue.push(flight);
          else setTimeout(() => this.#hand(flight), 0);
        }
      },
      listen: (receive) => void this.#listeners.set(id, receive),
      close: () => {
        open = false;
        this.#listeners.delete(id);
      },
    };
  }

  /** Delivers the queued posts `which` accepts (all by default), in order; the rest wait. */
  deliver(which: (f: InFlight) => boolean = () => true): number {
    const now = this.queue.filter(which);
    this.queue = this.queue.filter((f) => !which(f));
    for (const flight of now) this.#hand(flight);
    return now.length;
  }

  /** Drops the queued posts `which` accepts (lost); returns how many. */
  drop(which: (f: InFlight) => boolean): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((f) => !which(f));
    return before - this.queue.length;
  }

  #hand(flight: InFlight): void {
    this.#listeners.get(flight.to)?.(flight.post);
  }
}
