/**
 * Server configuration: read once from the environment by `main.ts`, validated and filled with
 * defaults by the pure {@linkcode loadConfig}.
 *
 * @module
 */

import type { LogFormat, LogLevel } from "./log.ts";
import { RoomGrants } from "./room_grants.ts";

/**
 * Which proxy header to believe: none (`off`), the last `X-Forwarded-For` entry (the one the
 * trusted proxy appended), or the whole value of a named header such as `x-real-ip`.
 */
export type TrustProxy = { kind: "off" } | { kind: "forwarded-for" } | {
  kind: "header";
  name: string;
};

/** Every setting of the server, with its unit in the name where it has one. */
export interface Config {
  /** TCP port to listen on (`PORT`, default 8000; 0 picks a free port). */
  port: number;
  /** Interface to bind (`HOST`, default `0.0.0.0`). */
  host: string;
  /** Largest accepted frame in bytes (`MAX_MESSAGE_BYTES`, default 65536). */
  maxMessageBytes: number;
  /** Deepest nesting of a message's `data` (`MAX_DATA_DEPTH`, 1-1000, default 32). */
  maxDataDepth: number;
  /**
   * Rooms one connection may be in at once, its handshake room included
   * (`MAX_ROOMS_PER_CONNECTION`, 1-1000, default 32); past it `subscribe` gets `too_many_rooms`.
   */
  maxRoomsPerConnection: number;
  /** Messages kept per room for replay (`HISTORY_SIZE`, default 1000). */
  historySize: number;
  /** Messages sent in `welcome.history` to a client that does not resume (`HISTORY_ON_JOIN`, 50). */
  historyOnJoin: number;
  /** Sustained frames per second per connection (`RATE_LIMIT`, default 20). */
  rateLimit: number;
  /** Frames a connection may send at once above the rate (`RATE_BURST`, default 40). */
  rateBurst: number;
  /** Rejected frames within 10 s after which the connection is closed 1008 (`RATE_LIMIT_CLOSE_AFTER`, 100). */
  rateLimitCloseAfter: number;
  /** Open WebSocket connections allowed at once (`MAX_CONNECTIONS`, default 10000). */
  maxConnections: number;
  /**
   * Origins at which clients reach this server (`PUBLIC_URL`, comma separated http(s) URLs reduced
   * to their origin, e.g. `https://chat.example.com`; default unset). Browsers on these origins
   * may connect to `/ws`.
   */
  publicOrigins: string[];
  /**
   * Further allowed browser origins (`ALLOWED_ORIGINS`, comma separated, `*` for any; default
   * unset). With neither this nor `PUBLIC_URL`, only `http://` pages on localhost or an IP
   * address, served by this server, may connect.
   */
  allowedOrigins: string[];
  /** Bytes queued for one socket before it is closed 4008 (`MAX_BUFFERED_BYTES`, default 1 MiB). */
  maxBufferedBytes: number;
  /** Seconds without traffic before the server pings and then drops a peer (`IDLE_TIMEOUT_SECONDS`, 30). */
  idleTimeoutSeconds: number;
  /** How long a `ref` is remembered for idempotent resends, in ms (`DEDUP_TTL_MS`, 5 minutes). */
  dedupTtlMs: number;
  /**
   * Refs remembered in memory at most, every room together (`DEDUP_MAX_REFS`, 200 per MiB of
   * `MEMORY_LIMIT_MB`); past it the oldest are forgotten before their `DEDUP_TTL_MS`.
   */
  dedupMaxRefs: number;
  /** Window in which joins and leaves are coalesced into one presence frame (`PRESENCE_INTERVAL_MS`, 250). */
  presenceIntervalMs: number;
  /**
   * Presence frames one room may cost per second; bigger rooms batch longer, members / this
   * seconds (`PRESENCE_FRAMES_PER_SECOND`, 4000).
   */
  presenceFramesPerSecond: number;
  /**
   * Members a welcome lists at most, the joiner first (`MAX_WELCOME_MEMBERS`, 0-10000, default
   * 100); its `online` stays the full count.
   */
  maxWelcomeMembers: number;
  /** How long an empty room keeps its history, in ms (`ROOM_TTL_MS`, 10 minutes). */
  roomTtlMs: number;
  /** Bytes packed into one NDJSON frame before it is sent early (`FLUSH_BYTES`, default 65536). */
  flushBytes: number;
  /** Time allowed for a graceful shutdown, in ms (`SHUTDOWN_GRACE_MS`, default 5000). */
  shutdownGraceMs: number;
  /**
   * Handshakes run in memory before `deno task start` accepts its first connection, so that V8
   * has compiled the handshake path when the first clients come (`WARM_UP_HANDSHAKES`, 0-100 000,
   * default 2000; 0: none). See `lib/server/warm_up.ts`.
   */
  warmUpHandshakes: number;
  /** Least severe log level written (`LOG_LEVEL`: debug, info, warn, error; default info). */
  logLevel: LogLevel;
  /** Log line format (`LOG_FORMAT`: pretty or json; default pretty). */
  logFormat: LogFormat;
  /**
   * Log lines written per event name in 10 s; the rest are counted and summed up in one
   * `<event>.suppressed` line (`LOG_LINES_PER_EVENT`, default 20; 0 writes every line).
   */
  logLinesPerEvent: number;
  /**
   * Which engine keeps the rooms (`ENGINE`: `memory`, `kv` or `redis`; default `redis` when
   * `REDIS_URL` is set, else `memory`).
   */
  engine: EngineKind;
  /**
   * The Deno KV file of the KV engine (`KV_PATH`, default `data/fanout.sqlite3`, its folder made
   * on start; `:memory:` keeps nothing).
   */
  kvPath: string;
  /**
   * Bytes of message bodies the KV engine keeps on disk, every room together (`KV_HISTORY_MB`,
   * default 1024); over it idle rooms are removed first, then the largest rooms trimmed.
   */
  kvHistoryBytes: number;
  /**
   * Workers of `deno task start` (`main.ts`), each running Fanout's own server on the same port
   * with `SO_REUSEPORT` (`WORKERS`, 1-256, default 1). More than one needs a shared engine:
   * `ENGINE=kv` on a file, or Redis. Every limit then applies per worker.
   */
  workers: number;
  /**
   * Rooms the KV engine keeps on disk at once (`KV_MAX_ROOMS`, default 4 × `MAX_ROOMS`, at least
   * `MAX_ROOMS`); past it the least recently used rooms without members are removed whole.
   */
  kvMaxRooms: number;
  /**
   * Refs the KV engine keeps on disk at most, every worker together (`KV_MAX_REFS`, default 4 ×
   * `DEDUP_MAX_REFS`); past it the oldest are deleted before their `DEDUP_TTL_MS`.
   */
  kvMaxRefs: number;
  /** Redis URL; when set, rooms are shared across processes (`REDIS_URL`, default unset). */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel (`REDIS_KEY_PREFIX`, default `fanout`). */
  redisKeyPrefix: string;
  /** Longest wait for one Redis command before failing, in ms (`REDIS_TIMEOUT_MS`, 2000). */
  redisTimeoutMs: number;
  /** How often both Redis connections are pinged, in ms (`REDIS_PING_INTERVAL_MS`, 2000). */
  redisPingIntervalMs: number;
  /**
   * How long a backlog over `MAX_BUFFERED_BYTES` may last without shrinking before the socket is
   * closed 4008, in ms (`SLOW_CONSUMER_GRACE_MS`, 1000).
   */
  slowConsumerGraceMs: number;
  /** How long an instance's presence counts stay without refresh, in ms (`PRESENCE_TTL_MS`, 6000). */
  presenceTtlMs: number;
  /** Rooms listed in `/api/stats`, the busiest first (`STATS_TOP_ROOMS`, 0-1000, default 20). */
  statsTopRooms: number;
  /**
   * Bearer token that `/api/stats` and `/metrics` require when set (`OPERATOR_TOKEN`, at least
   * 16 characters; default unset: both are public).
   */
  operatorToken: string | null;
  /**
   * What the process may hold, in MiB (`MEMORY_LIMIT_MB`, default 1024): the budgets below are
   * derived from it unless set on their own.
   */
  memoryLimitMb: number;
  /**
   * Bytes every connection together may hold for incoming messages not complete yet
   * (`INBOUND_MEMORY_MB`, default a tenth of `MEMORY_LIMIT_MB`); past it a connection that starts
   * another message is closed 1013.
   */
  inboundBytes: number;
  /**
   * Bytes the history of every room may hold together (`HISTORY_MEMORY_MB`, default 30 % of
   * `MEMORY_LIMIT_MB`); over it idle rooms are forgotten first, then the largest rooms trimmed.
   */
  historyBytes: number;
  /** Bytes the history of one room may hold (`ROOM_HISTORY_MB`, default a 32nd of the above). */
  roomHistoryBytes: number;
  /**
   * Rooms the memory engine keeps, or the Redis engine subscribes to, at once (`MAX_ROOMS`,
   * default 100 per MiB of `MEMORY_LIMIT_MB`); a handshake into a new room past it gets 503
   * unless an idle room can make way.
   */
  maxRooms: number;
  /**
   * Bytes waiting to be sent to every socket together (`SEND_QUEUE_MEMORY_MB`, default 20 % of
   * `MEMORY_LIMIT_MB`); over it the largest backlogs are closed 4008 first.
   */
  sendQueueBytes: number;
  /** Time allowed to send a whole HTTP request, head and body (`REQUEST_TIMEOUT_MS`, 10000). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive HTTP connection is kept (`KEEPALIVE_TIMEOUT_MS`, 5000). */
  keepAliveTimeoutMs: number;
  /** Largest HTTP request head (`MAX_HEADER_BYTES`, 16384; 431 past it). */
  maxHeaderBytes: number;
  /** Largest HTTP request body (`MAX_BODY_BYTES`, 1 MiB; 413 past it). */
  maxBodyBytes: number;
  /**
   * Time a WebSocket close handshake may take before the connection is dropped
   * (`CLOSE_TIMEOUT_MS`, 2000).
   */
  closeTimeoutMs: number;
  /**
   * WebSockets one client address may hold (`MAX_CONNECTIONS_PER_IP`, default 64; IPv6 counts by
   * /64). The listener lets an address hold 32 more TCP connections for plain HTTP.
   */
  maxConnectionsPerIp: number;
  /** Handshakes one address may make per second (`HANDSHAKE_RATE_PER_IP`, default 10). */
  handshakeRatePerIp: number;
  /** Handshakes one address may make at once (`HANDSHAKE_BURST_PER_IP`, default 30). */
  handshakeBurstPerIp: number;
  /** Rooms one address may bring into existence per minute (`NEW_ROOMS_PER_MINUTE_PER_IP`, 30). */
  newRoomsPerMinutePerIp: number;
  /** Frames per second all connections of one address may send together (`RATE_LIMIT_PER_IP`, 100). */
  rateLimitPerIp: number;
  /** Frames all connections of one address may send at once (`RATE_BURST_PER_IP`, 200). */
  rateBurstPerIp: number;
  /**
   * Client addresses the per-address limits remember at once (`MAX_TRACKED_ADDRESSES`, default
   * 100 per MiB of `MEMORY_LIMIT_MB`); past it the least recently seen without connections go.
   */
  maxTrackedAddresses: number;
  /**
   * Which proxy header names the client's address (`TRUST_PROXY`: unset or `0` none, `1` the last
   * `X-Forwarded-For` entry, or a header name such as `x-real-ip`).
   */
  trustProxy: TrustProxy;
  /**
   * Shared secret of HS256 connection tokens (`AUTH_SECRET`, at least 32 bytes; default unset).
   * With it or `authPublicKey` set, every connection needs a valid token (auth mode).
   */
  authSecret: string | null;
  /**
   * Public key of RS256, ES256 or EdDSA connection tokens (`AUTH_PUBLIC_KEY`: an SPKI PEM, `\n`
   * escapes allowed, or a public JWK as JSON; default unset). The algorithm follows from the key.
   */
  authPublicKey: string | null;
  /** The `iss` every token must carry (`AUTH_ISSUER`, default unset: not checked). */
  authIssuer: string | null;
  /** An `aud` every token must carry (`AUTH_AUDIENCE`, default unset: not checked). */
  authAudience: string | null;
  /**
   * In auth mode, also let connections without a token in, read-only, into `publicRooms` only
   * (`ALLOW_ANONYMOUS`: 1 or 0, default 0; needs `PUBLIC_ROOMS`).
   */
  allowAnonymous: boolean;
  /**
   * Rooms and patterns anonymous connections may read (`PUBLIC_ROOMS`, comma separated, such as
   * `lobby,news-*`; default none).
   */
  publicRooms: RoomGrants;
  /** Longest connection token read, in bytes (`MAX_TOKEN_BYTES`, 256-65536, default 8192). */
  maxTokenBytes: number;
  /** Largest `info` claim of a token, as compact JSON bytes (`MAX_INFO_BYTES`, 0-16384, 1024). */
  maxInfoBytes: number;
  /**
   * Keys of the server API (`API_KEYS`, comma separated, each 16+ visible ASCII characters;
   * default none: the API answers 404). Several keys let one rotate without downtime.
   */
  apiKeys: string[];
  /** API requests per second per key, and twice that at once (`API_RATE_LIMIT`, default 200). */
  apiRateLimit: number;
  /** Rooms one `POST /api/broadcast` may name (`API_MAX_BROADCAST_ROOMS`, 1-10000, default 100). */
  apiMaxBroadcastRooms: number;
  /** Largest `limit` of the API's lists: history, presence, rooms (`API_MAX_PAGE`, default 1000). */
  apiMaxPage: number;
}

/** The engines: one process in memory, one process on Deno KV, many processes on Redis. */
export type EngineKind = "memory" | "kv" | "redis";

/** The default `KV_PATH`, relative to the working directory. */
export const DEFAULT_KV_PATH = "data/fanout.sqlite3";

/** Largest `MAX_MESSAGE_BYTES` with `ENGINE=kv` (a message is committed in one KV operation). */
export const KV_MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * True when connections need tokens (`AUTH_SECRET` or `AUTH_PUBLIC_KEY` set), false in open mode.
 *
 * @example
 * ```ts
 * authRequired(loadConfig({})); // false
 * ```
 */
export function authRequired(config: Pick<Config, "authSecret" | "authPublicKey">): boolean {
  return config.authSecret !== null || config.authPublicKey !== null;
}

/** Environment variables as a plain record, e.g. `Deno.env.toObject()`. */
export type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new RangeError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function origins(env: Env): string[] {
  return list(env, "ALLOWED_ORIGINS").map((origin) => {
    if (origin === "*") return origin;
    let parsed: string;
    try {
      parsed = new URL(origin).origin;
    } catch {
      throw new RangeError(`ALLOWED_ORIGINS holds an invalid origin: "${origin}"`);
    }
    if (parsed === "null") {
      // e.g. file:///x: it would allow every sandboxed page, whose Origin is "null".
      throw new RangeError(`ALLOWED_ORIGINS holds an origin without a host: "${origin}"`);
    }
    return parsed;
  });
}

function publicOrigins(env: Env): string[] {
  return list(env, "PUBLIC_URL").map((value) => {
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      // reported below
    }
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new RangeError(
        `PUBLIC_URL must be http:// or https:// URLs separated by commas, got "${value}"`,
      );
    }
    return url.origin;
  });
}

function redisUrl(env: Env): string | null {
  const raw = env.REDIS_URL?.trim();
  if (!raw) return null;
  if (!/^rediss?:\/\//.test(raw)) {
    throw new RangeError(
      `REDIS_URL must start with redis:// or rediss://, got "${raw.slice(0, 8)}…"`,
    );
  }
  return raw;
}

function engineKind(env: Env, redis: string | null, maxMessageBytes: number): EngineKind {
  const engine = oneOf(
    env,
    "ENGINE",
    redis === null ? "memory" : "redis",
    [
      "memory",
      "kv",
      "redis",
    ] as const,
  );
  if (engine === "redis" && redis === null) {
    throw new RangeError("ENGINE=redis needs REDIS_URL");
  }
  if (engine !== "redis" && redis !== null) {
    throw new RangeError(`ENGINE=${engine} but REDIS_URL is set: unset one of them`);
  }
  if (engine === "kv" && maxMessageBytes > KV_MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `ENGINE=kv needs MAX_MESSAGE_BYTES of at most ${KV_MAX_MESSAGE_BYTES}, got ${maxMessageBytes}`,
    );
  }
  return engine;
}

function kvPath(env: Env): string {
  const raw = env.KV_PATH?.trim();
  if (!raw) return DEFAULT_KV_PATH;
  if (raw.length > 4096 || raw.includes("\0")) {
    throw new RangeError(
      `KV_PATH must be a file path of at most 4096 characters without NUL, got ${raw.length}`,
    );
  }
  return raw;
}

function workerCount(env: Env, engine: EngineKind, path: string): number {
  const workers = integer(env, "WORKERS", 1, 1, 256);
  if (workers > 1 && (engine === "memory" || (engine === "kv" && path === ":memory:"))) {
    const what = engine === "kv" ? "ENGINE=kv with KV_PATH=:memory:" : "ENGINE=memory";
    throw new RangeError(
      `WORKERS=${workers} needs rooms shared between workers (ENGINE=kv on a file, or REDIS_URL); ` +
        `with ${what} each worker would be a server of its own`,
    );
  }
  return workers;
}

function keyPrefix(env: Env): string {
  const raw = env.REDIS_KEY_PREFIX?.trim() || "fanout";
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(raw)) {
    throw new RangeError(`REDIS_KEY_PREFIX must be 1-64 of A-Z a-z 0-9 _ . : -, got "${raw}"`);
  }
  return raw;
}

function operatorToken(env: Env): string | null {
  const raw = env.OPERATOR_TOKEN?.trim();
  if (!raw) return null;
  // A secret: the errors tell its length or the offending position, never the value.
  if (raw.length < 16 || raw.length > 4096) {
    throw new RangeError(`OPERATOR_TOKEN must be 16 to 4096 characters, got ${raw.length}`);
  }
  const bad = raw.search(/[^\x21-\x7e]/);
  if (bad !== -1) {
    throw new RangeError(
      `OPERATOR_TOKEN must be visible ASCII without spaces, got another character at ${bad + 1}`,
    );
  }
  return raw;
}

function apiKeys(env: Env): string[] {
  const keys = list(env, "API_KEYS");
  for (const [i, key] of keys.entries()) {
    // Secrets: the errors tell the position and the length, never the value.
    if (key.length < 16 || key.length > 4096) {
      throw new RangeError(
        `API_KEYS: key ${i + 1} must be 16 to 4096 characters, got ${key.length}`,
      );
    }
    if (/[^\x21-\x7e]/.test(key)) {
      throw new RangeError(`API_KEYS: key ${i + 1} must be visible ASCII without spaces`);
    }
  }
  return keys;
}

function trustProxy(env: Env): TrustProxy {
  const raw = env.TRUST_PROXY?.trim().toLowerCase();
  if (!raw || raw === "0") return { kind: "off" };
  if (raw === "1") return { kind: "forwarded-for" };
  if (/^[a-z0-9-]{1,64}$/.test(raw)) return { kind: "header", name: raw };
  throw new RangeError(
    `TRUST_PROXY must be 0, 1 (X-Forwarded-For) or a header name such as x-real-ip, got "${
      raw.slice(0, 64)
    }"`,
  );
}

function flag(env: Env, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new RangeError(`${name} must be 1 or 0, got "${raw.slice(0, 16)}"`);
}

function optional(env: Env, name: string, max: number): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  if (raw.length > max) {
    throw new RangeError(`${name} must be at most ${max} characters, got ${raw.length}`);
  }
  return raw;
}

function authSecret(env: Env): string | null {
  const raw = env.AUTH_SECRET;
  if (raw === undefined || raw.trim() === "") return null;
  // A secret: the errors tell its length, never the value.
  const bytes = new TextEncoder().encode(raw).length;
  if (bytes < 32 || bytes > 4096) {
    throw new RangeError(`AUTH_SECRET must be 32 to 4096 bytes, got ${bytes}`);
  }
  return raw;
}

const PEM = /^-----BEGIN PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----$/;

function authPublicKey(env: Env): string | null {
  const raw = env.AUTH_PUBLIC_KEY?.trim().replaceAll("\\n", "\n");
  if (!raw) return null;
  if (raw.length > 16384) {
    throw new RangeError(`AUTH_PUBLIC_KEY must be at most 16384 characters, got ${raw.length}`);
  }
  if (raw.startsWith("-----")) {
    if (!PEM.test(raw)) {
      throw new RangeError(
        "AUTH_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a public JWK, " +
          `got a PEM block starting ${JSON.stringify(raw.slice(0, 30))}`,
      );
    }
    return raw;
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(raw);
  } catch {
    throw new RangeError(
      "AUTH_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a public JWK " +
        "as JSON, got neither",
    );
  }
  const kty = (jwk as { kty?: unknown } | null)?.kty;
  if (typeof jwk !== "object" || jwk === null || !["RSA", "EC", "OKP"].includes(kty as string)) {
    throw new RangeError(
      `AUTH_PUBLIC_KEY as a JWK must have kty RSA, EC or OKP, got ${JSON.stringify(kty ?? null)}`,
    );
  }
  if ("d" in jwk) {
    throw new RangeError("AUTH_PUBLIC_KEY is a private JWK (it has d): give its public part only");
  }
  return raw;
}

function publicRooms(env: Env, anonymous: boolean): RoomGrants {
  const raw = env.PUBLIC_ROOMS?.trim() ?? "";
  const grants = RoomGrants.list(raw, "r");
  if (typeof grants === "string") {
    throw new RangeError(`PUBLIC_ROOMS: ${grants.replace(/^rooms /, "")}`);
  }
  if (anonymous && grants.size === 0) {
    throw new RangeError("ALLOW_ANONYMOUS=1 needs PUBLIC_ROOMS, the rooms anonymous clients read");
  }
  if (!anonymous && grants.size > 0) {
    throw new RangeError("PUBLIC_ROOMS is set but ALLOW_ANONYMOUS is not 1: set both or neither");
  }
  return grants;
}

/**
 * Validates the environment and returns the complete configuration.
 * Throws a `RangeError` naming the variable and the bad value.
 *
 * @example
 * ```ts
 * const config = loadConfig({ PORT: "9000" });
 * config.port; // 9000
 * config.maxMessageBytes; // 65536
 * ```
 */
export function loadConfig(env: Env): Config {
  const MiB = 1024 * 1024;
  const memoryLimitMb = integer(env, "MEMORY_LIMIT_MB", 1024, 64, 1024 * 1024);
  const historyMb = integer(
    env,
    "HISTORY_MEMORY_MB",
    Math.max(1, Math.floor(memoryLimitMb * 0.3)),
    1,
    memoryLimitMb,
  );
  const historySize = integer(env, "HISTORY_SIZE", 1000, 0, 1_000_000);
  const maxMessageBytes = integer(env, "MAX_MESSAGE_BYTES", 64 * 1024, 64, 16 * MiB);
  const redis = redisUrl(env);
  const maxRooms = integer(env, "MAX_ROOMS", memoryLimitMb * 100, 1, 100_000_000);
  const dedupMaxRefs = integer(env, "DEDUP_MAX_REFS", memoryLimitMb * 200, 1, 100_000_000);
  return {
    port: integer(env, "PORT", 8000, 0, 65535),
    host: env.HOST?.trim() || "0.0.0.0",
    maxMessageBytes,
    maxDataDepth: integer(env, "MAX_DATA_DEPTH", 32, 1, 1000),
    maxRoomsPerConnection: integer(env, "MAX_ROOMS_PER_CONNECTION", 32, 1, 1000),
    historySize,
    historyOnJoin: Math.min(integer(env, "HISTORY_ON_JOIN", 50, 0, 1_000_000), historySize),
    rateLimit: integer(env, "RATE_LIMIT", 20, 1, 1_000_000),
    rateBurst: integer(env, "RATE_BURST", 40, 1, 1_000_000),
    rateLimitCloseAfter: integer(env, "RATE_LIMIT_CLOSE_AFTER", 100, 1, 1_000_000),
    maxConnections: integer(
      env,
      "MAX_CONNECTIONS",
      Math.min(10_000, memoryLimitMb * 10),
      1,
      10_000_000,
    ),
    publicOrigins: publicOrigins(env),
    allowedOrigins: origins(env),
    maxBufferedBytes: integer(env, "MAX_BUFFERED_BYTES", MiB, 1024, 1024 * MiB),
    idleTimeoutSeconds: integer(env, "IDLE_TIMEOUT_SECONDS", 30, 1, 3600),
    dedupTtlMs: integer(env, "DEDUP_TTL_MS", 5 * 60_000, 0, 24 * 3600_000),
    dedupMaxRefs,
    presenceIntervalMs: integer(env, "PRESENCE_INTERVAL_MS", 250, 0, 60_000),
    presenceFramesPerSecond: integer(env, "PRESENCE_FRAMES_PER_SECOND", 4000, 1, 100_000_000),
    maxWelcomeMembers: integer(env, "MAX_WELCOME_MEMBERS", 100, 0, 10_000),
    roomTtlMs: integer(env, "ROOM_TTL_MS", 10 * 60_000, 0, 7 * 24 * 3600_000),
    flushBytes: integer(env, "FLUSH_BYTES", 64 * 1024, 1024, 16 * MiB),
    shutdownGraceMs: integer(env, "SHUTDOWN_GRACE_MS", 5000, 0, 600_000),
    warmUpHandshakes: integer(env, "WARM_UP_HANDSHAKES", 2000, 0, 100_000),
    logLevel: oneOf(env, "LOG_LEVEL", "info", ["debug", "info", "warn", "error"] as const),
    logFormat: oneOf(env, "LOG_FORMAT", "pretty", ["pretty", "json"] as const),
    logLinesPerEvent: integer(env, "LOG_LINES_PER_EVENT", 20, 0, 1_000_000),
    engine: engineKind(env, redis, maxMessageBytes),
    kvPath: kvPath(env),
    kvHistoryBytes: integer(env, "KV_HISTORY_MB", 1024, 1, 1024 * 1024) * MiB,
    workers: workerCount(env, engineKind(env, redis, maxMessageBytes), kvPath(env)),
    kvMaxRooms: integer(env, "KV_MAX_ROOMS", 4 * maxRooms, maxRooms, 400_000_000),
    kvMaxRefs: integer(env, "KV_MAX_REFS", 4 * dedupMaxRefs, 1, 400_000_000),
    redisUrl: redis,
    redisKeyPrefix: keyPrefix(env),
    redisTimeoutMs: integer(env, "REDIS_TIMEOUT_MS", 2000, 50, 60_000),
    presenceTtlMs: integer(env, "PRESENCE_TTL_MS", 6000, 300, 600_000),
    redisPingIntervalMs: integer(env, "REDIS_PING_INTERVAL_MS", 2000, 100, 60_000),
    slowConsumerGraceMs: integer(env, "SLOW_CONSUMER_GRACE_MS", 1000, 10, 60_000),
    statsTopRooms: integer(env, "STATS_TOP_ROOMS", 20, 0, 1000),
    operatorToken: operatorToken(env),
    memoryLimitMb,
    inboundBytes: integer(
      env,
      "INBOUND_MEMORY_MB",
      Math.max(1, Math.floor(memoryLimitMb / 10)),
      1,
      memoryLimitMb,
    ) * MiB,
    historyBytes: historyMb * MiB,
    roomHistoryBytes: integer(
      env,
      "ROOM_HISTORY_MB",
      Math.max(1, Math.floor(historyMb / 32)),
      1,
      historyMb,
    ) * MiB,
    maxRooms,
    sendQueueBytes: integer(
      env,
      "SEND_QUEUE_MEMORY_MB",
      Math.max(1, Math.floor(memoryLimitMb / 5)),
      1,
      memoryLimitMb,
    ) * MiB,
    requestTimeoutMs: integer(env, "REQUEST_TIMEOUT_MS", 10_000, 100, 600_000),
    keepAliveTimeoutMs: integer(env, "KEEPALIVE_TIMEOUT_MS", 5000, 100, 600_000),
    maxHeaderBytes: integer(env, "MAX_HEADER_BYTES", 16 * 1024, 1024, MiB),
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", MiB, 0, 1024 * MiB),
    closeTimeoutMs: integer(env, "CLOSE_TIMEOUT_MS", 2000, 100, 60_000),
    maxConnectionsPerIp: integer(env, "MAX_CONNECTIONS_PER_IP", 64, 1, 10_000_000),
    handshakeRatePerIp: integer(env, "HANDSHAKE_RATE_PER_IP", 10, 1, 1_000_000),
    handshakeBurstPerIp: integer(env, "HANDSHAKE_BURST_PER_IP", 30, 1, 1_000_000),
    newRoomsPerMinutePerIp: integer(env, "NEW_ROOMS_PER_MINUTE_PER_IP", 30, 1, 100_000_000),
    rateLimitPerIp: integer(env, "RATE_LIMIT_PER_IP", 100, 1, 1_000_000),
    rateBurstPerIp: integer(env, "RATE_BURST_PER_IP", 200, 1, 1_000_000),
    maxTrackedAddresses: integer(
      env,
      "MAX_TRACKED_ADDRESSES",
      memoryLimitMb * 100,
      1,
      100_000_000,
    ),
    trustProxy: trustProxy(env),
    ...auth(env),
    apiKeys: apiKeys(env),
    apiRateLimit: integer(env, "API_RATE_LIMIT", 200, 1, 1_000_000),
    apiMaxBroadcastRooms: integer(env, "API_MAX_BROADCAST_ROOMS", 100, 1, 10_000),
    apiMaxPage: integer(env, "API_MAX_PAGE", 1000, 1, 100_000),
  };
}

type AuthSettings = Pick<
  Config,
  | "authSecret"
  | "authPublicKey"
  | "authIssuer"
  | "authAudience"
  | "allowAnonymous"
  | "publicRooms"
  | "maxTokenBytes"
  | "maxInfoBytes"
>;

function auth(env: Env): AuthSettings {
  const authSecretValue = authSecret(env);
  const authPublicKeyValue = authPublicKey(env);
  const enabled = authSecretValue !== null || authPublicKeyValue !== null;
  const allowAnonymous = flag(env, "ALLOW_ANONYMOUS");
  const authIssuer = optional(env, "AUTH_ISSUER", 1024);
  const authAudience = optional(env, "AUTH_AUDIENCE", 1024);
  if (!enabled) {
    const orphan = allowAnonymous
      ? "ALLOW_ANONYMOUS"
      : authIssuer !== null
      ? "AUTH_ISSUER"
      : authAudience !== null
      ? "AUTH_AUDIENCE"
      : env.PUBLIC_ROOMS?.trim()
      ? "PUBLIC_ROOMS"
      : null;
    if (orphan !== null) {
      throw new RangeError(`${orphan} needs AUTH_SECRET or AUTH_PUBLIC_KEY (auth mode)`);
    }
  }
  return {
    authSecret: authSecretValue,
    authPublicKey: authPublicKeyValue,
    authIssuer,
    authAudience,
    allowAnonymous,
    publicRooms: publicRooms(env, allowAnonymous),
    maxTokenBytes: integer(env, "MAX_TOKEN_BYTES", 8192, 256, 65536),
    maxInfoBytes: integer(env, "MAX_INFO_BYTES", 1024, 0, 16384),
  };
}
