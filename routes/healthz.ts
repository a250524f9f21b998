/**
 * `GET /healthz`: 200 while the server takes traffic, 503 while draining or when the engine
 * cannot accept messages.
 *
 * @module
 */

import type { Engine } from "../lib/engine/engine.ts";

/** What `/healthz` reads. */
export interface HealthzDeps {
  /** Set while the server shuts down. */
  lifecycle: { readonly draining: boolean };
  engine: Pick<Engine, "healthy" | "name">;
}

/**
 * Answers the health check.
 *
 * @example
 * ```ts
 * app.get("/healthz", () => handleHealthz(deps));
 * ```
 */
export function handleHealthz(deps: HealthzDeps): Response {
  const status = deps.lifecycle.draining ? "draining" : deps.engine.healthy ? "ok" : "degraded";
  const body = status === "ok" ? { status } : { status, engine: deps.engine.name };
  return Response.json(body, { status: status === "ok" ? 200 : 503 });
}
