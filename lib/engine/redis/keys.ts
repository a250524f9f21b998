/**
 * Names of the Redis keys and channels of a room. Every key of a room carries the hash tag
 * `{room}` so that one script only touches one slot.
 *
 * @module
 */

/** The keys and the channel of one room. */
export interface RoomKeys {
  epoch: string;
  offset: string;
  stream: string;
  presence: string;
  /** Key of the hash of one instance's members in the room (`field = connection id`). */
  members(instance: string): string;
  channel: string;
  /** Key of a remembered `ref` (see `refKey` in `dedup_cache.ts`). */
  ref(key: string): string;
}

/**
 * Builds the key names of `room` under `prefix`.
 *
 * @example
 * ```ts
 * roomKeys("fanout", "lobby").offset; // "fanout:{lobby}:offset"
 * roomKeys("fanout", "lobby").channel; // "fanout:ch:lobby"
 * roomKeys("fanout", "lobby").members("k3v9"); // "fanout:{lobby}:members:k3v9"
 * ```
 */
export function roomKeys(prefix: string, room: string): RoomKeys {
  const base = `${prefix}:{${room}}:`;
  return {
    epoch: base + "epoch",
    offset: base + "offset",
    stream: base + "stream",
    presence: base + "presence",
    members: (instance) => base + "members:" + instance,
    channel: `${prefix}:ch:${room}`,
    ref: (key) => base + "ref:" + key,
  };
}
