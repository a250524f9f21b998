/**
 * The client address that per-address limits count by: the TCP peer, or, behind a reverse proxy
 * the operator trusts (`TRUST_PROXY`), the address that proxy reports. IPv6 addresses count by
 * their /64 prefix (one household or one host gets a whole /64), IPv4-mapped IPv6 as IPv4.
 *
 * @module
 */

import type { TrustProxy } from "../shared/config.ts";
import type { HeaderReader } from "../shared/handshake_request.ts";

/** The dotted-quad form of an IPv4 address (no leading zeros), or null when it is not one. */
function ipv4(text: string): string | null {
  if (text.length < 7 || text.length > 15) return null;
  let parts = 0;
  let value = 0;
  let digits = 0;
  let canonical = true;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255) return null;
      parts++;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57 || digits === 3) return null;
    if (digits === 1 && value === 0) canonical = false; // a leading zero
    value = value * 10 + c - 48;
    digits++;
  }
  if (parts !== 4) return null;
  return canonical ? text : text.split(".").map(Number).join(".");
}

/** Expands an IPv6 address to its eight 16-bit groups, or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  let t = text;
  const lastColon = t.lastIndexOf(":");
  if (lastColon < 0) return null;
  const tail = t.slice(lastColon + 1);
  if (tail.includes(".")) {
    // A dotted IPv4 tail (`::ffff:10.0.0.1`) stands for the last two groups.
    const v4 = ipv4(tail);
    if (v4 === null) return null;
    const b = v4.split(".").map(Number);
    t = `${t.slice(0, lastColon + 1)}${((b[0] << 8) | b[1]).toString(16)}:${
      ((b[2] << 8) | b[3]).toString(16)
    }`;
  }
  const halves = t.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  const given = [...left, ...right];
  if (!given.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return null;
  const missing = 8 - given.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const zeros: string[] = new Array(halves.length === 2 ? missing : 0).fill("0");
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

/**
 * The key per-address limits count `address` by: IPv4 as is, IPv4-mapped IPv6 as IPv4, other
 * IPv6 as its /64 prefix (`2001:db8:1:2::/64`), anything else unchanged.
 *
 * @example
 * ```ts
 * addressKey("127.0.0.2"); // "127.0.0.2"
 * addressKey("::ffff:10.0.0.1"); // "10.0.0.1"
 * addressKey("2001:db8:1:2:aaaa::1"); // "2001:db8:1:2::/64"
 * ```
 */
export function addressKey(address: string): string {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const v4 = ipv4(bare);
  if (v4 !== null) return v4;
  const groups = ipv6Groups(bare);
  if (groups === null) return bare;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "::1";
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/**
 * True when `text` is an IPv4 or IPv6 address (what a trusted proxy header must hold).
 *
 * @example
 * ```ts
 * isIpAddress("203.0.113.9"); // true
 * isIpAddress("evil, 1.2.3.4"); // false
 * ```
 */
export function isIpAddress(text: string): boolean {
  return ipv4(text) !== null || ipv6Groups(text) !== null;
}

/**
 * The client's address for a request: the TCP peer's, unless `trust` names a proxy header whose
 * value is a valid address (a missing or malformed value falls back to the peer, i.e. the proxy).
 *
 * @example
 * ```ts
 * clientAddress(headers, "10.0.0.2", { kind: "forwarded-for" }); // e.g. "203.0.113.9"
 * ```
 */
export function clientAddress(headers: HeaderReader, peer: string, trust: TrustProxy): string {
  if (trust.kind === "off") return peer;
  const raw = headers.get(trust.kind === "header" ? trust.name : "x-forwarded-for");
  if (raw === null || raw.length > 1024) return peer;
  const value = trust.kind === "header" ? raw.trim() : raw.slice(raw.lastIndexOf(",") + 1).trim();
  return isIpAddress(value) ? value : peer;
}
