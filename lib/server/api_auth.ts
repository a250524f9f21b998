/**
 * Guards the server API: 404 with how to enable it while `API_KEYS` is unset; 401 without a key
 * that matches (constant-time, `lib/api/api_keys.ts`); 429 past `API_RATE_LIMIT` requests per
 * second of one key. Refusals are counted (`fanout_rejected_total{reason="api_..."}`); keys are
 * never logged.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { apiError } from "../api/api_error.ts";
import { ApiKeys } from "../api/api_keys.ts";
import type { Metrics } from "../hub/metrics.ts";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { TokenBucket } from "../shared/token_bucket.ts";

/**
 * A Hono middleware for the API routes.
 *
 * @example
 * ```ts
 * const api = apiAuth(deps);
 * app.post("/api/broadcast", api, (c) => handleBroadcast(deps, c.req.raw));
 * ```
 */
export function apiAuth(deps: {
  config: Pick<Config, "apiKeys" | "apiRateLimit">;
  hub: { metrics: Metrics };
  logger: Logger;
  monotonic?: () => number;
}): MiddlewareHandler {
  const { apiKeys, apiRateLimit } = deps.config;
  if (apiKeys.length === 0) {
    return () =>
      Promise.resolve(apiError(
        404,
        "api_disabled",
        "the server API is off: set API_KEYS (comma-separated keys of 16 or more characters) to enable it",
      ));
  }
  const keys = new ApiKeys(apiKeys);
  const now = deps.monotonic ?? (() => performance.now());
  const buckets = apiKeys.map(() => new TokenBucket(apiRateLimit, 2 * apiRateLimit, now));
  return async (c, next) => {
    const key = await keys.check(c.req.header("authorization"));
    if (key === null) {
      deps.hub.metrics.reject("api_unauthorized");
      deps.logger.debug("api.unauthorized", { path: c.req.path });
      return apiError(401, "unauthorized", "send Authorization: Bearer <one of API_KEYS>", {
        "www-authenticate": "Bearer",
      });
    }
    const bucket = buckets[key];
    if (!bucket.take()) {
      deps.hub.metrics.reject("api_rate_limited");
      const wait = Math.max(1, Math.ceil(bucket.waitMs() / 1000));
      return apiError(
        429,
        "rate_limited",
        `over API_RATE_LIMIT, ${apiRateLimit} requests per second for this key; retry in ${wait} s`,
        { "retry-after": String(wait) },
      );
    }
    await next();
  };
}
