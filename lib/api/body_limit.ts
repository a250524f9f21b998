/**
 * How many bytes an API request body may hold: the message (`MAX_MESSAGE_BYTES`), its `info`
 * (`MAX_INFO_BYTES`), a little for `ref`, `name` and the JSON around them, and for a broadcast
 * its room names (at most `API_MAX_BROADCAST_ROOMS` of 64 characters). Past it: 413.
 *
 * @module
 */

import type { Config } from "../shared/config.ts";

/**
 * The body limit of a publish (`rooms` 0) or of a broadcast to at most `rooms` rooms.
 *
 * @example
 * ```ts
 * bodyLimit({ maxMessageBytes: 65536, maxInfoBytes: 1024 }); // 67584
 * ```
 */
export function bodyLimit(
  config: Pick<Config, "maxMessageBytes" | "maxInfoBytes">,
  rooms = 0,
): number {
  return config.maxMessageBytes + config.maxInfoBytes + 1024 + rooms * 72;
}
