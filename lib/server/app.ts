/**
 * The HTTP application: one route per endpoint, wired on Hono. Touches no runtime API.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, RequestInfo } from "./app_deps.ts";
import { handleAsset } from "../../routes/assets.ts";
import { handleHealthz } from "../../routes/healthz.ts";
import { handleIndex } from "../../routes/index.tsx";
import { handleMetrics } from "../../routes/metrics.ts";
import { operatorAuth } from "./operator_auth.ts";
import { handleStats } from "../../routes/api/stats.ts";
import { handleWs } from "../../routes/ws.ts";

/**
 * Builds the Hono app over the server's shared state.
 *
 * @example
 * ```ts
 * const app = createApp(deps);
 * const res = await app.request("/healthz");
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const operator = operatorAuth(deps);
  app.get("/ws", (c) => handleWs(deps, c.req.raw, c.env as RequestInfo | undefined));
  app.get("/healthz", () => handleHealthz(deps));
  app.get("/api/stats", operator, () => handleStats(deps));
  app.get("/metrics", operator, () => handleMetrics(deps));
  app.get("/", (c) => handleIndex(deps, c.req.raw));
  app.get("/assets/:file", (c) => handleAsset(deps, c.req.raw, c.req.param("file")));
  app.notFound((c) => c.text(`not found: ${c.req.method} ${new URL(c.req.url).pathname}\n`, 404));
  app.onError((err, c) => {
    deps.logger.error("http.error", { path: new URL(c.req.url).pathname, error: String(err) });
    return c.text("internal error\n", 500);
  });
  return app;
}
