/**
 * The HTTP application: one route per endpoint, wired on Hono. Touches no runtime API.
 *
 * @module
 */

import { Hono } from "hono";
import { handleAsset } from "../../routes/assets.ts";
import { handleHealthz } from "../../routes/healthz.ts";
import { handleIndex } from "../../routes/index.tsx";
import { handleMetrics } from "../../routes/metrics.ts";
import { operatorAuth } from "./operator_auth.ts";
import { handleStats } from "../../routes/api/stats.ts";
import { handleWs } from "../../routes/ws.ts";
import { WS_PATH } from "../protocol/handshake.ts";
import type { WebSocketRoute } from "../transport/http_connection.ts";
import { handlePublish } from "../../routes/api/messages.ts";
import { handleBroadcast } from "../../routes/api/broadcast.ts";
import { handleHistory } from "../../routes/api/history.ts";
import { handleRooms } from "../../routes/api/rooms.ts";
import { handlePresence } from "../../routes/api/presence.ts";
import { handleDisconnect } from "../../routes/api/disconnect.ts";
import { apiAuth } from "./api_auth.ts";
import { apiError } from "../api/api_error.ts";
import type { MemoryUsage } from "../shared/memory_usage.ts";
import type { RequestInfo } from "../shared/request_info.ts";
import type { Upgrade } from "../hub/upgraded_socket.ts";
import type { Config } from "../shared/config.ts";
import type { Engine } from "../engine/engine.ts";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../shared/log.ts";
import type { AssetStore } from "../web/assets.ts";
import type { InboundBudget } from "../transport/ws_frames.ts";
import type { TokenVerifier } from "../auth/identity.ts";

/** The server's shared state, which every route takes what it needs of. */
export interface AppDeps {
  config: Config;
  hub: Hub;
  engine: Engine;
  logger: Logger;
  upgrade: Upgrade;
  /** Reads process memory (default: zeros, so the core needs no runtime API). */
  memory: () => MemoryUsage;
  /** Wall clock in epoch ms. */
  now: () => number;
  startedAt: number;
  /** Set when shutdown begins: `/healthz` answers 503 and `/ws` refuses new sockets. */
  lifecycle: { draining: boolean };
  /** Bytes every WebSocket reader holds for incomplete messages, against `INBOUND_MEMORY_MB`. */
  inbound: InboundBudget;
  /** What the listener holds, once one serves the app (not under `deno serve`). */
  transport: { connections(): number } | null;
  /** The browser bundle and the style sheet. */
  assets: AssetStore;
  /** Checks connection tokens in auth mode; null in open mode. */
  verifier: TokenVerifier | null;
}

/**
 * The WebSocket route by itself, the same as the app's: for a server that reads requests itself
 * and answers `GET /ws` without building a `Request` or going through the router.
 *
 * @example
 * ```ts
 * const route = wsRoute(deps);
 * new HttpServer({ handler: app.fetch, webSocketRoute: route, ... });
 * ```
 */
export function wsRoute(deps: AppDeps): WebSocketRoute {
  return { path: WS_PATH, handle: (req, info) => handleWs(deps, req, info) };
}

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
  app.get(WS_PATH, (c) => handleWs(deps, c.req.raw, c.env as RequestInfo | undefined));
  app.get("/healthz", () => handleHealthz(deps));
  app.get("/api/stats", operator, () => handleStats(deps));
  app.get("/metrics", operator, () => handleMetrics(deps));
  // The server API: JSON in and out, API_KEYS (404 without any), per-key rate.
  const api = apiAuth(deps);
  const room = (c: { req: { param(name: string): string } }) => c.req.param("room");
  app.post("/api/rooms/:room/messages", api, (c) => handlePublish(deps, c.req.raw, room(c)));
  app.get("/api/rooms/:room/history", api, (c) => handleHistory(deps, c.req.raw, room(c)));
  app.get("/api/rooms/:room/presence", api, (c) => handlePresence(deps, c.req.raw, room(c)));
  app.get("/api/rooms", api, (c) => handleRooms(deps, c.req.raw));
  app.post("/api/broadcast", api, (c) => handleBroadcast(deps, c.req.raw));
  app.post("/api/disconnect", api, (c) => handleDisconnect(deps, c.req.raw));
  app.all("/api/*", api, (c) =>
    apiError(
      404,
      "not_found",
      `no such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}; see docs/API.md`,
    ));
  app.get("/", (c) => handleIndex(deps, c.req.raw));
  app.get("/assets/:file", (c) => handleAsset(deps, c.req.raw, c.req.param("file")));
  app.notFound((c) => c.text(`not found: ${c.req.method} ${new URL(c.req.url).pathname}\n`, 404));
  app.onError((err, c) => {
    const path = new URL(c.req.url).pathname;
    deps.logger.error("http.error", { path, error: String(err) });
    if (path.startsWith("/api/") && path !== "/api/stats") {
      return apiError(500, "internal", "internal error");
    }
    return c.text("internal error\n", 500);
  });
  return app;
}
