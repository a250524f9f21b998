/**
 * The life of a connection's token in auth mode: the timer that ends the connection when the
 * token expires (`token_expired`, close 4401: get a new token, then reconnect), and the refresh
 * over the open socket (`refresh` → `refreshed`, with the new grants applied; a room no longer
 * granted ends the connection with `forbidden`, close 4403).
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import type { Connection } from "./connection.ts";
import type { Subscription } from "./connection.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import type { Outbound } from "./outbound.ts";
import type { Timers } from "../shared/timers.ts";
import type { TokenVerifier } from "../auth/identity.ts";

/** Longest delay one timer is armed for; a later expiry re-arms it (timers overflow at 2^31). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@linkcode TokenLifecycle}. */
export interface TokenLifecycleOptions {
  /** Checks refresh tokens; null in open mode (a refresh is then refused). */
  verifier: TokenVerifier | null;
  out: Outbound;
  metrics: Metrics;
  logger: Logger;
  timers: Timers;
  /** Wall clock in epoch ms, the clock of `exp` (default `Date.now`). */
  now: () => number;
  /**
   * Ends a subscription the refreshed token no longer grants (`Hub`: `unsubscribed` with
   * `forbidden`, or for a one-room connection `forbidden` and close 4403).
   */
  revoke: (sub: Subscription) => void;
}

/**
 * Arms, re-arms and clears expiry timers, and carries out refreshes.
 *
 * @example
 * ```ts
 * const tokens = new TokenLifecycle({ verifier, out, metrics, logger, timers, now: Date.now });
 * tokens.watch(conn); // ends conn when conn.identity.expires passes
 * tokens.refresh(conn, newToken, "r1"); // queues refreshed (or an error) once it is checked
 * ```
 */
export class TokenLifecycle {
  #o: TokenLifecycleOptions;

  constructor(options: TokenLifecycleOptions) {
    this.#o = options;
  }

  /** Arms the expiry timer of `conn` for its identity's `expires` (nothing without one). */
  watch(conn: Connection): void {
    this.forget(conn);
    const expires = conn.identity?.expires ?? null;
    if (expires === null) return;
    const delay = Math.max(0, Math.min(expires - this.#o.now(), MAX_TIMER_MS));
    conn.expiry = this.#o.timers.setTimer(() => {
      conn.expiry = null;
      if (conn.state === "closed") return;
      if (this.#o.now() < expires) return this.watch(conn);
      this.#expire(conn);
    }, delay);
  }

  /** Clears the expiry timer of a connection that is gone (or re-armed). */
  forget(conn: Connection): void {
    if (conn.expiry === null) return;
    this.#o.timers.clearTimer(conn.expiry);
    conn.expiry = null;
  }

  /**
   * Checks `token` for `conn`: the same user, then its grants for the connection's room. Answers
   * `refreshed` with the new expiry, or an `error` (`invalid_token`, `forbidden`) with `ref`, after
   * which the old expiry still stands; a room no longer granted ends the connection (4403).
   */
  refresh(conn: Connection, token: string, ref: string | undefined): void {
    const verifier = this.#o.verifier;
    if (verifier === null) {
      return this.#error(
        conn,
        "invalid_message",
        "this server takes no tokens (open mode): there is nothing to refresh",
        ref,
      );
    }
    const seq = ++conn.refreshes;
    verifier.verify(token).then((check) => {
      // Gone meanwhile, or a later refresh was asked for: its outcome is the one that counts.
      if (conn.state === "closed" || seq !== conn.refreshes) return;
      if (!check.ok) {
        return this.#error(conn, "invalid_token", `refresh refused: ${check.reason}`, ref);
      }
      const { identity } = check;
      const user = conn.identity?.user ?? null;
      if (user === null || identity.user !== user) {
        return this.#error(
          conn,
          "forbidden",
          "refresh refused: the token is for another user; connect again with it",
          ref,
        );
      }
      // The name and info of the connection stay those it joined with: presence told them.
      conn.identity = { ...conn.identity!, grants: identity.grants, expires: identity.expires };
      for (const sub of conn.subs.values()) {
        const access = identity.grants.access(sub.room);
        if (access !== null) {
          sub.access = access;
          continue;
        }
        this.#o.logger.info("ws.grant_revoked", { id: conn.id, room: sub.room });
        if (!sub.perRoom) {
          // A one-room (v1) connection ends: forbidden, 4403.
          this.forget(conn);
          return this.#o.revoke(sub);
        }
        this.#o.revoke(sub);
      }
      this.watch(conn);
      const expires = identity.expires!;
      this.#o.out.send(
        conn,
        ref === undefined ? { type: "refreshed", expires } : { type: "refreshed", expires, ref },
      );
    });
  }

  #expire(conn: Connection): void {
    this.#o.logger.info("ws.token_expired", { id: conn.id, room: conn.room });
    this.#error(conn, "token_expired", "token expired: get a new token, then reconnect");
    this.#o.out.end(conn, Close.tokenExpired, "token expired");
  }

  #error(
    conn: Connection,
    code: "invalid_message" | "invalid_token" | "forbidden" | "token_expired",
    message: string,
    ref?: string,
  ): void {
    this.#o.metrics.reject(code);
    this.#o.out.send(
      conn,
      ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref },
    );
  }
}
