import assert from "node:assert/strict";
import { authRequired, loadConfig } from "../../lib/shared/config.ts";

Deno.test("loadConfig fills every default from an empty environment", () => {
  const c = loadConfig({});
  assert.equal(c.port, 8000);
  assert.equal(c.host, "0.0.0.0");
  assert.equal(c.maxMessageBytes, 65536);
  assert.equal(c.historySize, 1000);
  assert.equal(c.historyOnJoin, 50);
  assert.equal(c.rateLimit, 20);
  assert.equal(c.rateBurst, 40);
  assert.equal(c.rateLimitCloseAfter, 100);
  assert.equal(c.maxConnections, 10000);
  assert.deepEqual(c.allowedOrigins, []);
  assert.deepEqual(c.publicOrigins, []);
  assert.equal(c.maxBufferedBytes, 1024 * 1024);
  assert.equal(c.idleTimeoutSeconds, 30);
  assert.equal(c.dedupTtlMs, 300000);
  assert.equal(c.dedupMaxRefs, 204_800);
  assert.equal(c.shutdownGraceMs, 5000);
  assert.equal(c.logLevel, "info");
  assert.equal(c.logFormat, "pretty");
  assert.equal(c.redisUrl, null);
  assert.equal(c.presenceFramesPerSecond, 4000);
  assert.equal(c.statsTopRooms, 20);
  assert.equal(c.operatorToken, null);
});

Deno.test("loadConfig bounds STATS_TOP_ROOMS to 0-1000", () => {
  assert.equal(loadConfig({ STATS_TOP_ROOMS: "0" }).statsTopRooms, 0);
  assert.equal(loadConfig({ STATS_TOP_ROOMS: "1000" }).statsTopRooms, 1000);
  assert.throws(
    () => loadConfig({ STATS_TOP_ROOMS: "1001" }),
    /STATS_TOP_ROOMS must be an integer from 0 to 1000, got "1001"/,
  );
  assert.throws(() => loadConfig({ STATS_TOP_ROOMS: "-1" }), /STATS_TOP_ROOMS .* got "-1"/);
});

Deno.test("loadConfig wants an OPERATOR_TOKEN of 16 characters or more and never shows it", () => {
  const sixteen = "0123456789abcdef";
  assert.equal(loadConfig({ OPERATOR_TOKEN: sixteen }).operatorToken, sixteen);
  assert.equal(loadConfig({ OPERATOR_TOKEN: ` ${sixteen}\n` }).operatorToken, sixteen);
  assert.equal(loadConfig({ OPERATOR_TOKEN: "" }).operatorToken, null);
  const refused = (token: string, message: RegExp) =>
    assert.throws(() => loadConfig({ OPERATOR_TOKEN: token }), (err: Error) => {
      assert.match(err.message, message);
      assert.equal(err.message.includes(token), false, "the token is not in the message");
      return true;
    });
  refused(sixteen.slice(1), /^OPERATOR_TOKEN must be 16 to 4096 characters, got 15$/);
  refused("x".repeat(4097), /^OPERATOR_TOKEN must be 16 to 4096 characters, got 4097$/);
  refused("01234567 89abcdef", /^OPERATOR_TOKEN must be visible ASCII .* at 9$/);
  assert.equal(loadConfig({ OPERATOR_TOKEN: "x".repeat(4096) }).operatorToken?.length, 4096);
});

Deno.test("loadConfig bounds PRESENCE_FRAMES_PER_SECOND at 1", () => {
  assert.equal(loadConfig({ PRESENCE_FRAMES_PER_SECOND: "1" }).presenceFramesPerSecond, 1);
  assert.throws(
    () => loadConfig({ PRESENCE_FRAMES_PER_SECOND: "0" }),
    /PRESENCE_FRAMES_PER_SECOND must be an integer from 1 to 100000000, got "0"/,
  );
});

Deno.test("loadConfig reads LOG_LINES_PER_EVENT: default 20, 0 turns the throttle off, bounded", () => {
  assert.equal(loadConfig({}).logLinesPerEvent, 20);
  assert.equal(loadConfig({ LOG_LINES_PER_EVENT: "0" }).logLinesPerEvent, 0);
  assert.equal(loadConfig({ LOG_LINES_PER_EVENT: "1000000" }).logLinesPerEvent, 1_000_000);
  assert.throws(
    () => loadConfig({ LOG_LINES_PER_EVENT: "-1" }),
    /LOG_LINES_PER_EVENT must be an integer from 0 to 1000000, got "-1"/,
  );
  assert.throws(
    () => loadConfig({ LOG_LINES_PER_EVENT: "1000001" }),
    /LOG_LINES_PER_EVENT .* got "1000001"/,
  );
});

Deno.test("loadConfig reads WARM_UP_HANDSHAKES: default 2000, 0 turns the warm-up off, bounded", () => {
  assert.equal(loadConfig({}).warmUpHandshakes, 2000);
  assert.equal(loadConfig({ WARM_UP_HANDSHAKES: "0" }).warmUpHandshakes, 0);
  assert.equal(loadConfig({ WARM_UP_HANDSHAKES: "100000" }).warmUpHandshakes, 100_000);
  assert.throws(
    () => loadConfig({ WARM_UP_HANDSHAKES: "-1" }),
    /WARM_UP_HANDSHAKES must be an integer from 0 to 100000, got "-1"/,
  );
  assert.throws(
    () => loadConfig({ WARM_UP_HANDSHAKES: "100001" }),
    /WARM_UP_HANDSHAKES .* got "100001"/,
  );
});

Deno.test("loadConfig reads PUBLIC_URL as http(s) origins and names a bad value", () => {
  assert.deepEqual(
    loadConfig({ PUBLIC_URL: " https://Chat.Example.com/app?x=1 , http://10.0.0.5:8000/,," })
      .publicOrigins,
    ["https://chat.example.com", "http://10.0.0.5:8000"],
  );
  assert.deepEqual(loadConfig({ PUBLIC_URL: "https://a.example:443" }).publicOrigins, [
    "https://a.example",
  ]);
  assert.deepEqual(loadConfig({ PUBLIC_URL: "  " }).publicOrigins, []);
  for (const bad of ["chat.example.com", "ws://chat.example.com", "file:///srv", "http://"]) {
    assert.throws(
      () => loadConfig({ PUBLIC_URL: `https://ok.example,${bad}` }),
      new RegExp(`PUBLIC_URL must be http:// or https:// URLs separated by commas, got "${bad}"`),
    );
  }
});

Deno.test("loadConfig refuses an ALLOWED_ORIGINS entry without a host (it would allow Origin: null)", () => {
  assert.throws(
    () => loadConfig({ ALLOWED_ORIGINS: "file:///tmp/x" }),
    /ALLOWED_ORIGINS holds an origin without a host: "file:\/\/\/tmp\/x"/,
  );
  assert.deepEqual(loadConfig({ ALLOWED_ORIGINS: "*, https://a.example" }).allowedOrigins, [
    "*",
    "https://a.example",
  ]);
});

Deno.test("loadConfig reads and validates values", () => {
  const c = loadConfig({
    PORT: "0",
    MAX_MESSAGE_BYTES: "1024",
    ALLOWED_ORIGINS: "https://a.example, http://b.example:8080/",
    LOG_FORMAT: "JSON",
    REDIS_URL: "redis://127.0.0.1:6379",
    HISTORY_SIZE: "10",
    HISTORY_ON_JOIN: "50",
  });
  assert.equal(c.port, 0);
  assert.equal(c.maxMessageBytes, 1024);
  assert.deepEqual(c.allowedOrigins, ["https://a.example", "http://b.example:8080"]);
  assert.equal(c.logFormat, "json");
  assert.equal(c.redisUrl, "redis://127.0.0.1:6379");
  assert.equal(c.historyOnJoin, 10, "history on join is capped by the history size");
});

Deno.test("loadConfig names the variable and the value it rejects", () => {
  assert.throws(
    () => loadConfig({ PORT: "abc" }),
    /PORT must be an integer from 0 to 65535, got "abc"/,
  );
  assert.throws(() => loadConfig({ PORT: "65536" }), /PORT .* got "65536"/);
  assert.throws(() => loadConfig({ RATE_LIMIT: "0" }), /RATE_LIMIT .* got "0"/);
  assert.throws(() => loadConfig({ MAX_MESSAGE_BYTES: "1.5" }), /MAX_MESSAGE_BYTES/);
  assert.throws(
    () => loadConfig({ LOG_LEVEL: "loud" }),
    /LOG_LEVEL must be one of debug, info, warn, error, got "loud"/,
  );
  assert.throws(
    () => loadConfig({ ALLOWED_ORIGINS: "not a url" }),
    /ALLOWED_ORIGINS holds an invalid origin: "not a url"/,
  );
  assert.throws(
    () => loadConfig({ REDIS_URL: "http://x" }),
    /REDIS_URL must start with redis:\/\//,
  );
});

Deno.test("open mode by default: no auth setting is set", () => {
  const c = loadConfig({});
  assert.equal(authRequired(c), false);
  assert.equal(c.authSecret, null);
  assert.equal(c.authPublicKey, null);
  assert.equal(c.allowAnonymous, false);
  assert.equal(c.publicRooms.size, 0);
  assert.equal(c.maxTokenBytes, 8192);
  assert.equal(c.maxInfoBytes, 1024);
});

Deno.test("AUTH_SECRET needs 32 bytes and is never shown in the error", () => {
  const secret31 = "s".repeat(31);
  assert.throws(
    () => loadConfig({ AUTH_SECRET: secret31 }),
    (err: Error) =>
      /AUTH_SECRET must be 32 to 4096 bytes, got 31/.test(err.message) &&
      !err.message.includes(secret31),
  );
  const c = loadConfig({ AUTH_SECRET: "s".repeat(32) });
  assert.equal(authRequired(c), true);
  // 16 two-byte characters are 32 bytes.
  assert.equal(loadConfig({ AUTH_SECRET: "é".repeat(16) }).authSecret, "é".repeat(16));
});

Deno.test("AUTH_PUBLIC_KEY takes a PEM (with \\n escapes) or a public JWK", () => {
  const pem = "-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQ==\\n-----END PUBLIC KEY-----";
  assert.equal(
    loadConfig({ AUTH_PUBLIC_KEY: pem }).authPublicKey,
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ==\n-----END PUBLIC KEY-----",
  );
  const jwk = '{"kty":"OKP","crv":"Ed25519","x":"abc"}';
  assert.equal(loadConfig({ AUTH_PUBLIC_KEY: jwk }).authPublicKey, jwk);
  assert.throws(
    () =>
      loadConfig({ AUTH_PUBLIC_KEY: "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----" }),
    /AUTH_PUBLIC_KEY must be a PEM public key/,
  );
  assert.throws(
    () => loadConfig({ AUTH_PUBLIC_KEY: '{"kty":"OKP","crv":"Ed25519","x":"a","d":"b"}' }),
    /private JWK/,
  );
  assert.throws(
    () => loadConfig({ AUTH_PUBLIC_KEY: '{"kty":"oct","k":"a"}' }),
    /kty RSA, EC or OKP/,
  );
  assert.throws(() => loadConfig({ AUTH_PUBLIC_KEY: "not a key" }), /got neither/);
});

Deno.test("anonymous readers need auth mode and PUBLIC_ROOMS, and PUBLIC_ROOMS needs them", () => {
  const secret = "s".repeat(32);
  const c = loadConfig({ AUTH_SECRET: secret, ALLOW_ANONYMOUS: "1", PUBLIC_ROOMS: "lobby,news-*" });
  assert.equal(c.allowAnonymous, true);
  assert.equal(c.publicRooms.access("news-1"), "r");
  assert.equal(c.publicRooms.access("lobby"), "r");
  assert.equal(c.publicRooms.access("private"), null);
  assert.throws(
    () => loadConfig({ ALLOW_ANONYMOUS: "1", PUBLIC_ROOMS: "lobby" }),
    /ALLOW_ANONYMOUS needs AUTH_SECRET/,
  );
  assert.throws(
    () => loadConfig({ AUTH_SECRET: secret, ALLOW_ANONYMOUS: "1" }),
    /needs PUBLIC_ROOMS/,
  );
  assert.throws(
    () => loadConfig({ AUTH_SECRET: secret, PUBLIC_ROOMS: "lobby" }),
    /ALLOW_ANONYMOUS is not 1/,
  );
  assert.throws(() => loadConfig({ AUTH_ISSUER: "https://app" }), /AUTH_ISSUER needs AUTH_SECRET/);
  assert.throws(
    () => loadConfig({ AUTH_SECRET: secret, ALLOW_ANONYMOUS: "1", PUBLIC_ROOMS: "Lobby" }),
    /PUBLIC_ROOMS: holds an invalid room or pattern: "Lobby"/,
  );
  assert.throws(
    () => loadConfig({ ALLOW_ANONYMOUS: "yes" }),
    /ALLOW_ANONYMOUS must be 1 or 0, got "yes"/,
  );
});

Deno.test("MAX_TOKEN_BYTES and MAX_INFO_BYTES at their bounds", () => {
  assert.equal(loadConfig({ MAX_TOKEN_BYTES: "256" }).maxTokenBytes, 256);
  assert.equal(loadConfig({ MAX_TOKEN_BYTES: "65536" }).maxTokenBytes, 65536);
  assert.throws(
    () => loadConfig({ MAX_TOKEN_BYTES: "255" }),
    /MAX_TOKEN_BYTES must be an integer from 256 to 65536/,
  );
  assert.equal(loadConfig({ MAX_INFO_BYTES: "0" }).maxInfoBytes, 0);
  assert.throws(
    () => loadConfig({ MAX_INFO_BYTES: "16385" }),
    /MAX_INFO_BYTES must be an integer from 0 to 16384/,
  );
});

Deno.test("API_KEYS: comma separated, 16+ visible ASCII each, never shown in errors", () => {
  assert.deepEqual(loadConfig({}).apiKeys, []);
  assert.deepEqual(
    loadConfig({ API_KEYS: " a-key-0123456789abc , b-key-0123456789abc " }).apiKeys,
    [
      "a-key-0123456789abc",
      "b-key-0123456789abc",
    ],
  );
  assert.throws(
    () => loadConfig({ API_KEYS: "a-key-0123456789abc,short-secret" }),
    (err: Error) =>
      /API_KEYS: key 2 must be 16 to 4096 characters, got 12/.test(err.message) &&
      !err.message.includes("short-secret"),
  );
  const c = loadConfig({});
  assert.deepEqual([c.apiRateLimit, c.apiMaxBroadcastRooms, c.apiMaxPage], [200, 100, 1000]);
  assert.equal(loadConfig({ API_MAX_BROADCAST_ROOMS: "10000" }).apiMaxBroadcastRooms, 10000);
  assert.throws(() => loadConfig({ API_MAX_BROADCAST_ROOMS: "10001" }), /API_MAX_BROADCAST_ROOMS/);
  assert.throws(() => loadConfig({ API_MAX_PAGE: "0" }), /API_MAX_PAGE/);
});

Deno.test("MAX_WELCOME_MEMBERS is 100 by default and bounded to 0-10000", () => {
  assert.equal(loadConfig({}).maxWelcomeMembers, 100);
  assert.equal(loadConfig({ MAX_WELCOME_MEMBERS: "0" }).maxWelcomeMembers, 0);
  assert.equal(loadConfig({ MAX_WELCOME_MEMBERS: "10000" }).maxWelcomeMembers, 10_000);
  assert.throws(
    () => loadConfig({ MAX_WELCOME_MEMBERS: "10001" }),
    /MAX_WELCOME_MEMBERS must be an integer from 0 to 10000, got "10001"/,
  );
  assert.throws(() => loadConfig({ MAX_WELCOME_MEMBERS: "-1" }), /MAX_WELCOME_MEMBERS .* got "-1"/);
});

Deno.test("WORKERS is 1 by default, 1-256, and more than one needs a shared engine", () => {
  assert.equal(loadConfig({}).workers, 1);
  assert.equal(loadConfig({ WORKERS: "1" }).workers, 1, "one worker: any engine");
  const kv = { ENGINE: "kv", KV_PATH: "data/x.sqlite3" };
  assert.equal(loadConfig({ ...kv, WORKERS: "2" }).workers, 2);
  assert.equal(loadConfig({ ...kv, WORKERS: "256" }).workers, 256);
  assert.equal(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", WORKERS: "4" }).workers, 4);
  assert.throws(
    () => loadConfig({ ...kv, WORKERS: "257" }),
    /WORKERS must be an integer from 1 to 256, got "257"/,
  );
  assert.throws(() => loadConfig({ ...kv, WORKERS: "0" }), /WORKERS must be an integer/);
  assert.throws(
    () => loadConfig({ WORKERS: "2" }),
    /WORKERS=2 needs rooms shared between workers .* with ENGINE=memory each worker/,
  );
  assert.throws(
    () => loadConfig({ ENGINE: "kv", KV_PATH: ":memory:", WORKERS: "2" }),
    /with ENGINE=kv with KV_PATH=:memory: each worker would be a server of its own/,
  );
});

Deno.test("loadConfig: DEDUP_MAX_REFS is 200 per MiB of MEMORY_LIMIT_MB, at least 1", () => {
  assert.equal(loadConfig({ MEMORY_LIMIT_MB: "128" }).dedupMaxRefs, 25_600);
  assert.equal(loadConfig({ DEDUP_MAX_REFS: "1" }).dedupMaxRefs, 1);
  assert.throws(() => loadConfig({ DEDUP_MAX_REFS: "0" }), /DEDUP_MAX_REFS.*"0"/);
});
