/**
 * `GET /ws`: validates the handshake, upgrades, and hands the socket to the hub.
 *
 * @module
 */

import type { Hub } from "../lib/hub/hub.ts";
import type { Upgrade } from "../lib/hub/upgraded_socket.ts";
import type { RequestInfo } from "../lib/shared/request_info.ts";
import type { HandshakeRequest } from "../lib/shared/handshake_request.ts";
import type { Config } from "../lib/shared/config.ts";
import type { Logger } from "../lib/shared/log.ts";
import { addressKey, clientAddress } from "../lib/transport/client_address.ts";
import { type HandshakeResult, originAllowed, parseHandshake } from "../lib/protocol/handshake.ts";
import type { AddressEntry } from "../lib/hub/address_limits.ts";
import type { Identity, TokenVerifier } from "../lib/auth/identity.ts";
import { requestToken } from "../lib/auth/request_token.ts";
import { MAX_PROTOCOL_HEADER_CHARS, offeredProtocols } from "../lib/shared/header_lists.ts";
import { SUBPROTOCOL } from "../lib/protocol/frames.ts";
import { identify } from "../lib/hub/public_id.ts";

/** What `/ws` needs. */
export interface WsDeps {
  config: Config;
  hub: Hub;
  logger: Logger;
  upgrade: Upgrade;
  /** Set while the server shuts down: new sockets are refused. */
  lifecycle: { readonly draining: boolean };
  /** Checks connection tokens in auth mode; null in open mode (anyone may join any room). */
  verifier: TokenVerifier | null;
}

function refuse(
  deps: WsDeps,
  status: number,
  reason: string,
  metric: string,
  headers: Record<string, string> = {},
): Response {
  deps.hub.metrics.reject(metric);
  deps.logger.info("ws.refused", { status, reason: metric });
  return new Response(`${reason}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * The key the per-address limits count a request by: its client address (through a trusted
 * proxy's header when `TRUST_PROXY` says so), IPv6 by /64.
 *
 * @example
 * ```ts
 * requestAddress(req, info, config); // "203.0.113.9"
 * ```
 */
function requestAddress(
  req: HandshakeRequest,
  info: RequestInfo | undefined,
  config: Pick<Config, "trustProxy">,
): string {
  const peer = info?.remoteAddr?.hostname ?? "unknown";
  return addressKey(clientAddress(req.headers, peer, config.trustProxy));
}

/**
 * Who a handshake in auth mode is: the verified token's identity, or an anonymous reader's
 * (`ALLOW_ANONYMOUS`, `PUBLIC_ROOMS`); else the 401 (no or bad token) or 403 (room not granted).
 */
async function authenticate(
  deps: WsDeps,
  verifier: TokenVerifier,
  req: HandshakeRequest,
  room: string | null,
): Promise<Identity | Response> {
  const unauthorized = (reason: string, metric: string) =>
    refuse(deps, 401, `unauthorized: ${reason}`, metric, { "www-authenticate": "Bearer" });
  const found = requestToken(req);
  if (!found.ok) return unauthorized(found.reason, "token_malformed");
  let identity: Identity;
  if (found.token === null) {
    const { allowAnonymous, publicRooms } = deps.config;
    if (!allowAnonymous || (room !== null && publicRooms.access(room) === null)) {
      return unauthorized(
        (allowAnonymous
          ? `room ${room} needs a token (anonymous readers may join public rooms)`
          : "a token is required") +
          ": send ?token=<jwt>, the subprotocol fanout.token.<jwt> next to fanout.v1, " +
          "or Authorization: Bearer <jwt>",
        "token_missing",
      );
    }
    identity = { user: null, name: null, info: null, grants: publicRooms, expires: null };
  } else {
    const check = await verifier.verify(found.token);
    if (!check.ok) return unauthorized(check.reason, `token_${check.refusal}`);
    identity = check.identity;
  }
  if (room !== null && identity.grants.access(room) === null) {
    return refuse(
      deps,
      403,
      `forbidden: the token does not grant room ${room}`,
      "handshake_forbidden",
    );
  }
  return identity;
}

/**
 * Handles a WebSocket handshake: 405 for anything but a GET (a HEAD included), before anything is
 * counted; 503 while draining, full or at `MAX_ROOMS`, 429 for an address
 * over its limits; in auth mode 401 for a missing or refused token and 403 for a room it does not
 * grant (before anything else is looked at, so a plain GET says why); then 426 without an
 * upgrade, 403 for a foreign origin, 400 for a bad query or a malformed upgrade request, else 101.
 * The client's private key is turned into its public id first (with the user's id in auth mode):
 * the key never goes further. Synchronous in open mode; in auth mode it waits for the token check.
 *
 * @example
 * ```ts
 * app.get("/ws", (c) => handleWs(deps, c.req.raw, c.env));
 * ```
 */
export function handleWs(
  deps: WsDeps,
  req: HandshakeRequest,
  info?: RequestInfo,
): Response | Promise<Response> {
  const { hub, config } = deps;
  // A HEAD must not open a socket the client never sees: the 101 becomes a 200 without a body
  // (the router answers HEAD with the GET route), and the socket would hold its place for ever.
  if (req.method !== "GET") {
    return refuse(
      deps,
      405,
      `a WebSocket handshake is a GET, not ${req.method.slice(0, 16)}`,
      "handshake_method",
      {
        allow: "GET",
      },
    );
  }
  const parsed = parseHandshake(req.url);
  if (deps.lifecycle.draining) return draining(deps);
  const address = hub.handshake(requestAddress(req, info, config));
  if (!address.ok) {
    const { status, reason, metric, retryAfterSeconds } = address.refusal;
    return refuse(deps, status, reason, metric, { "retry-after": String(retryAfterSeconds) });
  }
  const verifier = deps.verifier;
  if (verifier === null) return upgrade(deps, req, parsed, address.entry, null);
  return authenticate(deps, verifier, req, parsed.ok ? parsed.value.room : null).then(
    (identity) => {
      if (identity instanceof Response) return identity;
      if (deps.lifecycle.draining) return draining(deps);
      return upgrade(deps, req, parsed, address.entry, identity);
    },
  );
}

function draining(deps: WsDeps): Response {
  return refuse(deps, 503, "server is shutting down; reconnect shortly", "handshake_draining", {
    "retry-after": "1",
  });
}

/** The checks that follow who the client is, then the upgrade and `hub.attach`. */
function upgrade(
  deps: WsDeps,
  req: HandshakeRequest,
  parsed: HandshakeResult,
  entry: AddressEntry,
  identity: Identity | null,
): Response {
  const { hub, config } = deps;
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return refuse(
      deps,
      426,
      "this endpoint speaks WebSocket: connect with a WebSocket client, e.g. wscat -c ws://HOST/ws",
      "handshake_no_upgrade",
      { upgrade: "websocket" },
    );
  }
  const origin = req.headers.get("origin");
  if (!originAllowed(origin, req.headers.get("host"), config)) {
    const shown = origin!.length > 100 ? `${origin!.slice(0, 100)}…` : origin;
    return refuse(
      deps,
      403,
      `origin ${shown} is not allowed: set PUBLIC_URL to this server's public origin, or ALLOWED_ORIGINS`,
      "handshake_origin",
    );
  }
  if (!parsed.ok) return refuse(deps, 400, `bad request: ${parsed.reason}`, "handshake_invalid");
  const protocols = req.headers.get("sec-websocket-protocol");
  const offered = offeredProtocols(protocols);
  if (offered === null) {
    const max = MAX_PROTOCOL_HEADER_CHARS;
    const reason =
      `Sec-WebSocket-Protocol must be at most ${max} characters, got ${protocols?.length}`;
    return refuse(deps, 400, `bad request: ${reason}`, "handshake_invalid");
  }
  const query = identity?.name ? { ...parsed.value, name: identity.name } : parsed.value;
  const identified = identify(query, identity?.user ?? null);
  const refusal = hub.admit(identified.room, entry);
  if (refusal) {
    const { status, reason, metric, retryAfterSeconds } = refusal;
    return refuse(deps, status, reason, metric, { "retry-after": String(retryAfterSeconds) });
  }
  const json = offered.includes(SUBPROTOCOL);
  let upgraded: ReturnType<typeof deps.upgrade>;
  try {
    // Only fanout.v1 is ever chosen: a fanout.token.<jwt> offered beside it is never echoed.
    upgraded = deps.upgrade(req, {
      protocol: json ? SUBPROTOCOL : undefined,
      idleTimeout: config.idleTimeoutSeconds,
    });
  } catch (err) {
    // A malformed upgrade (no `Connection: Upgrade`, no `Sec-WebSocket-Key`, ...) is the client's
    // mistake: a 400 with the runtime's reason, not a 500 and an error in the log.
    const reason = err instanceof Error
      ? err.message.replace(/^Invalid Header: /, "")
      : String(err);
    return refuse(
      deps,
      400,
      `bad request: invalid WebSocket handshake: ${reason}`,
      "handshake_invalid",
    );
  }
  const { socket, response } = upgraded;
  hub.attach(socket, identified, json, entry, identity);
  return response;
}
