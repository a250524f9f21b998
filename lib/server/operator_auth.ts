/**
 * Guards the operator endpoints (`/api/stats`, `/metrics`) with `OPERATOR_TOKEN`: when it is set,
 * a request needs `Authorization: Bearer <token>`, compared in constant time; otherwise it gets
 * 401 with a one-line reason that never echoes what was sent. In auth mode (`AUTH_SECRET` or
 * `AUTH_PUBLIC_KEY`) they are never public: without `OPERATOR_TOKEN` every request gets 401.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { Metrics } from "../hub/metrics.ts";
import { authRequired, type Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";

/** Why a request was refused (the `why` of the `http.operator_unauthorized` log event). */
export type OperatorRefusal = "missing" | "scheme" | "token" | "unset";

const REASONS: Record<OperatorRefusal, string> = {
  unset: "unauthorized: with AUTH_SECRET or AUTH_PUBLIC_KEY set, set OPERATOR_TOKEN to read this\n",
  missing: "unauthorized: send Authorization: Bearer <operator token>\n",
  scheme: "unauthorized: Authorization must use the Bearer scheme\n",
  token: "unauthorized: wrong operator token\n",
};

/**
 * SHA-256 digest of a token, as {@linkcode checkBearer} expects it.
 *
 * @example
 * ```ts
 * const expected = await digestToken(config.operatorToken!);
 * ```
 */
export async function digestToken(token: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
}

/**
 * True when both byte arrays are equal, looking at every byte whatever differs (no early exit).
 *
 * @example
 * ```ts
 * sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Checks an `Authorization` header against the SHA-256 digest of the token: null when it
 * carries the token, else why not. Both sides are hashed and every byte of the digests compared,
 * so the time taken tells nothing about how much of the token was right.
 *
 * @example
 * ```ts
 * await checkBearer("Bearer s3cret-operator-token", await digestToken("s3cret-operator-token"));
 * // null
 * ```
 */
export async function checkBearer(
  header: string | null | undefined,
  expected: Uint8Array,
): Promise<OperatorRefusal | null> {
  if (!header) return "missing";
  const space = header.indexOf(" ");
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") return "scheme";
  const presented = await digestToken(header.slice(space + 1).trim());
  return sameBytes(presented, expected) ? null : "token";
}

/**
 * A Hono middleware for the operator routes: passes every request when `OPERATOR_TOKEN` is
 * unset in open mode, none when it is unset in auth mode, else only those with the right bearer
 * token; counts refusals as
 * `fanout_rejected_total{reason="operator_unauthorized"}`.
 *
 * @example
 * ```ts
 * const operator = operatorAuth(deps);
 * app.get("/metrics", operator, () => handleMetrics(deps));
 * ```
 */
export function operatorAuth(deps: {
  config: Pick<Config, "operatorToken" | "authSecret" | "authPublicKey">;
  hub: { metrics: Metrics };
  logger: Logger;
}): MiddlewareHandler {
  const token = deps.config.operatorToken;
  const closed = authRequired(deps.config);
  if (token === null && !closed) return async (_c, next) => await next();
  let expected: Promise<Uint8Array> | null = null;
  return async (c, next) => {
    const why = token === null ? "unset" : await checkBearer(
      c.req.header("authorization"),
      await (expected ??= digestToken(token)),
    );
    if (why === null) return await next();
    deps.hub.metrics.reject("operator_unauthorized");
    deps.logger.debug("http.operator_unauthorized", { path: c.req.path, why });
    return new Response(REASONS[why], {
      status: 401,
      headers: {
        "www-authenticate": "Bearer",
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  };
}
