/**
 * The rooms a client follows besides its main one (`client.subscribe`), each with its own resume
 * position: subscribed after every welcome with its own `since`+`epoch`, so that a reconnect loses
 * nothing and repeats nothing in any room; subscribed again at once when the server resets one.
 *
 * @module
 */

import { subscribeFrame } from "./frames.ts";
import { ResumePosition } from "./resume_position.ts";

/** One followed room: where it stands, and the resume its latest `subscribe` sent. */
interface Track {
  position: ResumePosition;
  resumeSent: { since: number; epoch: string } | null;
  /** Its latest `subscribe` waits for the answer. */
  waiting: boolean;
}

/**
 * The extra rooms of a client.
 *
 * @example
 * ```ts
 * const tracks = new RoomTracks();
 * tracks.add("news");
 * tracks.subscribeAll((data) => socket.send(data)); // after each welcome
 * tracks.position("news")?.accept(3); // a message of news, once
 * ```
 */
export class RoomTracks {
  #rooms = new Map<string, Track>();

  /** The rooms followed, in the order they were added. */
  names(): string[] {
    return [...this.#rooms.keys()];
  }

  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Follows `room` (from scratch: no resume). */
  add(room: string): void {
    this.#rooms.set(room, { position: new ResumePosition(), resumeSent: null, waiting: false });
  }

  /** Stops following `room`; true when it was followed. */
  delete(room: string): boolean {
    return this.#rooms.delete(room);
  }

  /** The resume position of a followed room, or null. */
  position(room: string): ResumePosition | null {
    return this.#rooms.get(room)?.position ?? null;
  }

  /** The resume the latest `subscribe` of `room` sent (to judge its `subscribed`). */
  resumeSent(room: string): { since: number; epoch: string } | null {
    return this.#rooms.get(room)?.resumeSent ?? null;
  }

  /**
   * True while the latest `subscribe` of `room` waits for its `subscribed`: what arrives of the
   * room before it is left over from an earlier subscription (its answer's history holds it).
   */
  waiting(room: string): boolean {
    return this.#rooms.get(room)?.waiting ?? false;
  }

  /** The `subscribed` answer of `room` arrived. */
  answered(room: string): void {
    const track = this.#rooms.get(room);
    if (track) track.waiting = false;
  }

  /** Sends `subscribe` for `room`, resuming from where it stands; false when not sent. */
  subscribe(room: string, transmit: (data: string) => boolean): boolean {
    const track = this.#rooms.get(room);
    if (!track) return false;
    const resume = track.position.resume;
    track.resumeSent = resume;
    track.waiting = true;
    return transmit(subscribeFrame(room, resume));
  }

  /** Sends `subscribe` for every followed room (after a welcome). */
  subscribeAll(transmit: (data: string) => boolean): void {
    for (const room of this.#rooms.keys()) this.subscribe(room, transmit);
  }
}
