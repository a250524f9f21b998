/**
 * Room grants: which rooms a token lets its holder read (`"r"`) or also write to (`"rw"`), by
 * exact room name or by prefix pattern (`team-42-*`). The most specific grant wins: an exact name
 * before any pattern, a longer prefix before a shorter one.
 *
 * @module
 */

/** What a grant allows: join and read (`"r"`), or also send (`"rw"`). */
export type RoomAccess = "r" | "rw";

/**
 * A room name (1-64 of `a-z 0-9 _ -`, the rule of `lib/protocol/handshake.ts`) or a prefix
 * pattern: 0-63 of those characters followed by `*` (`*` alone covers every room).
 */
const GRANT_KEY = /^(?:[a-z0-9_-]{1,64}|[a-z0-9_-]{0,63}\*)$/;

/** Most grants one token (or `PUBLIC_ROOMS`) may hold: checks stay cheap whatever is signed. */
export const MAX_GRANTS = 256;

function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * The grants of one token, checked room by room.
 *
 * @example
 * ```ts
 * const grants = RoomGrants.parse({ "team-42-*": "r", "team-42-ops": "rw" });
 * if (typeof grants === "string") throw new Error(grants);
 * grants.access("team-42-ops"); // "rw"
 * grants.access("team-42-dev"); // "r"
 * grants.access("team-420"); // null
 * ```
 */
export class RoomGrants {
  #exact: Map<string, RoomAccess>;
  /** Prefix patterns, the longest prefix first. */
  #prefixes: [string, RoomAccess][];

  private constructor(exact: Map<string, RoomAccess>, prefixes: [string, RoomAccess][]) {
    this.#exact = exact;
    this.#prefixes = prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** Grants that allow nothing. */
  static readonly none: RoomGrants = new RoomGrants(new Map(), []);

  /**
   * Reads the `rooms` claim of a token: an object from room names or patterns to `"r"` or
   * `"rw"`, at most {@linkcode MAX_GRANTS} entries. Returns the grants, or what was wrong.
   *
   * @example
   * ```ts
   * RoomGrants.parse({ lobby: "rw" }); // RoomGrants
   * RoomGrants.parse({ Lobby: "rw" }); // 'rooms holds an invalid room or pattern: "Lobby" ...'
   * ```
   */
  static parse(value: unknown): RoomGrants | string {
    if (value === undefined || value === null) return RoomGrants.none;
    if (typeof value !== "object" || Array.isArray(value)) {
      return `rooms must be an object of room or pattern to "r" or "rw", got ${
        Array.isArray(value) ? "an array" : typeof value
      }`;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > MAX_GRANTS) {
      return `rooms holds ${entries.length} grants, at most ${MAX_GRANTS} are allowed`;
    }
    const exact = new Map<string, RoomAccess>();
    const prefixes: [string, RoomAccess][] = [];
    for (const [key, access] of entries) {
      if (!GRANT_KEY.test(key)) {
        return `rooms holds an invalid room or pattern: ${
          shown(key)
        } (a room name of a-z, 0-9, _ and -, or a prefix followed by *)`;
      }
      if (access !== "r" && access !== "rw") {
        return `rooms[${shown(key)}] must be "r" or "rw", got ${
          typeof access === "string" ? shown(access) : typeof access
        }`;
      }
      if (key.endsWith("*")) prefixes.push([key.slice(0, -1), access]);
      else exact.set(key, access);
    }
    return new RoomGrants(exact, prefixes);
  }

  /**
   * Reads a comma-separated list of rooms and patterns (`PUBLIC_ROOMS`), each granted `access`.
   * Returns the grants, or what was wrong.
   *
   * @example
   * ```ts
   * RoomGrants.list("lobby, news-*", "r"); // RoomGrants
   * ```
   */
  static list(value: string, access: RoomAccess): RoomGrants | string {
    const keys = value.split(",").map((s) => s.trim()).filter(Boolean);
    return RoomGrants.parse(Object.fromEntries(keys.map((key) => [key, access])));
  }

  /** Number of grants (exact names and patterns). */
  get size(): number {
    return this.#exact.size + this.#prefixes.length;
  }

  /**
   * What `room` may be used for: the exact grant when there is one, else the grant of the
   * longest pattern whose prefix starts `room` (`team-42-*` covers `team-42-` and `team-42-ops`,
   * never `team-420`), else null (not granted).
   */
  access(room: string): RoomAccess | null {
    const exact = this.#exact.get(room);
    if (exact !== undefined) return exact;
    for (const [prefix, access] of this.#prefixes) {
      if (room.startsWith(prefix)) return access;
    }
    return null;
  }
}
