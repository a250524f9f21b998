/**
 * `deno task token`: prints a connection token signed with `AUTH_SECRET` (HS256), for development
 * and the README walkthrough. An application's backend signs its own tokens the same way.
 *
 * ```sh
 * AUTH_SECRET=... deno task token --sub ann --rooms 'lobby=rw,news-*=r' --ttl 1h --name Ann
 * ```
 *
 * @module
 */

import { SignJWT } from "jose";
import { loadConfig } from "../lib/shared/config.ts";
import { RoomGrants } from "../lib/shared/room_grants.ts";

/** What `deno task token` signs, read from its arguments. */
export interface TokenRequest {
  sub: string;
  rooms: Record<string, "r" | "rw">;
  ttlSeconds: number;
  name?: string;
  info?: Record<string, unknown>;
}

const USAGE = "usage: deno task token --sub USER --rooms 'lobby=rw,news-*=r' " +
  "[--ttl 1h] [--name NAME] [--info '{\"team\":42}']";

function ttl(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  if (!match) throw new RangeError(`--ttl must be a number of s, m, h or d, got "${value}"`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]]!;
  const seconds = Number(match[1]) * unit;
  if (seconds < 1 || seconds > 366 * 86400) {
    throw new RangeError(`--ttl must be from 1 s to 366 d, got "${value}"`);
  }
  return seconds;
}

function rooms(value: string): Record<string, "r" | "rw"> {
  const out: Record<string, "r" | "rw"> = {};
  for (const item of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.lastIndexOf("=");
    const [room, access] = eq === -1 ? [item, "rw"] : [item.slice(0, eq), item.slice(eq + 1)];
    out[room] = access as "r" | "rw";
  }
  const checked = RoomGrants.parse(out);
  if (typeof checked === "string") throw new RangeError(`--rooms: ${checked}`);
  return out;
}

/**
 * Reads the arguments of `deno task token`; throws a `RangeError` saying what is wrong.
 *
 * @example
 * ```ts
 * parseTokenArgs(["--sub", "ann", "--rooms", "lobby=rw"]);
 * // { sub: "ann", rooms: { lobby: "rw" }, ttlSeconds: 3600 }
 * ```
 */
export function parseTokenArgs(args: string[]): TokenRequest {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (!["--sub", "--rooms", "--ttl", "--name", "--info"].includes(flag)) {
      throw new RangeError(`unknown argument "${flag}"; ${USAGE}`);
    }
    const value = args[++i];
    if (value === undefined) throw new RangeError(`${flag} needs a value; ${USAGE}`);
    values.set(flag, value);
  }
  const sub = values.get("--sub");
  if (!sub) throw new RangeError(`--sub is required; ${USAGE}`);
  const request: TokenRequest = {
    sub,
    rooms: rooms(values.get("--rooms") ?? ""),
    ttlSeconds: ttl(values.get("--ttl") ?? "1h"),
  };
  if (values.has("--name")) request.name = values.get("--name");
  if (values.has("--info")) {
    let info: unknown;
    try {
      info = JSON.parse(values.get("--info")!);
    } catch {
      throw new RangeError("--info must be a JSON object");
    }
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      throw new RangeError("--info must be a JSON object");
    }
    request.info = info as Record<string, unknown>;
  }
  return request;
}

/**
 * Signs `request` with HS256 and `secret`, with `iss` and `aud` when given, issued at `now`.
 *
 * @example
 * ```ts
 * await signToken(parseTokenArgs(["--sub", "ann"]), { secret, now: Date.now() });
 * ```
 */
export async function signToken(
  request: TokenRequest,
  options: { secret: string; issuer?: string | null; audience?: string | null; now: number },
): Promise<string> {
  const iat = Math.floor(options.now / 1000);
  const claims: Record<string, unknown> = { rooms: request.rooms };
  if (request.name !== undefined) claims.name = request.name;
  if (request.info !== undefined) claims.info = request.info;
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.sub).setIssuedAt(iat).setExpirationTime(iat + request.ttlSeconds);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return await jwt.sign(new TextEncoder().encode(options.secret));
}

if (import.meta.main) {
  try {
    const config = loadConfig(Deno.env.toObject());
    if (config.authSecret === null) {
      throw new RangeError("set AUTH_SECRET (32 bytes or more) to sign tokens");
    }
    const request = parseTokenArgs(Deno.args);
    console.log(
      await signToken(request, {
        secret: config.authSecret,
        issuer: config.authIssuer,
        audience: config.authAudience,
        now: Date.now(),
      }),
    );
  } catch (err) {
    console.error(`token: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
