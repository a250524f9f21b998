/**
 * The client core's token (auth mode): the one it was given or the one `getToken()` returns before
 * every attempt, carried in the subprotocol `fanout.token.<jwt>` (never in the URL); refreshed over
 * the open socket ahead of its expiry; and, when a handshake fails, the probe that tells a refusal
 * (401, 403) from a network failure.
 *
 * @module
 */

import type { Emitter } from "./emitter.ts";
import type { Timers } from "../shared/timers.ts";
import type { ClientEvents } from "./types.ts";

/** Prefix of the subprotocol that carries a token (the server's `TOKEN_PROTOCOL_PREFIX`). */
export const TOKEN_PROTOCOL = "fanout.token.";

/** A refusal of the handshake, as the probe read it. */
export interface Refusal {
  status: 401 | 403;
  reason: string;
}

/** Options of {@linkcode Credentials}. */
export interface CredentialsOptions {
  /** A fixed token. */
  token: string | null;
  /** The server requires tokens: probe failed handshakes even without one. */
  auth: boolean;
  /** Returns a token; called before every attempt and ahead of expiry. Wins over `token`. */
  getToken: (() => string | Promise<string>) | null;
  /** For the probe of a failed handshake (default `globalThis.fetch`, looked up when used). */
  fetch: typeof fetch | undefined;
  timers: Timers;
  now: () => number;
  /** How long before expiry the token is refreshed (at most half its remaining life). */
  refreshAheadMs: number;
  events: Emitter<ClientEvents>;
  /** Sends a frame on the current socket; false when there is none. */
  transmit: (data: string) => boolean;
}

/**
 * Holds, renews and refreshes the client's token.
 *
 * @example
 * ```ts
 * const credentials = new Credentials({ ...options, getToken: () => fetchTokenFromMyApp() });
 * const protocols = credentials.protocols(await credentials.obtain()); // ["fanout.token.eyJ..."]
 * credentials.welcomed(welcome.expires); // refreshes ahead of expiry from now on
 * ```
 */
export class Credentials {
  #o: CredentialsOptions;
  #token: string | null;
  #timer: unknown = null;
  #refreshes = 0;

  constructor(options: CredentialsOptions) {
    this.#o = options;
    this.#token = options.token;
  }

  /** True in auth mode: the client carries a token, or was told the server requires them. */
  get enabled(): boolean {
    return this.#o.auth || this.#token !== null || this.#o.getToken !== null;
  }

  /** True when a new token can be had (`getToken`). */
  get renewable(): boolean {
    return this.#o.getToken !== null;
  }

  /** Replaces the fixed token (used from the next attempt on). */
  set(token: string | null): void {
    this.#token = token;
  }

  /** The token of the next attempt: `getToken()`'s when given (a promise then), else the fixed. */
  obtain(): string | null | Promise<string> {
    const get = this.#o.getToken;
    if (get === null) return this.#token;
    return Promise.resolve(get()).then((token) => this.#token = checked(token));
  }

  /** The subprotocols that carry `token` (none without one). */
  protocols(token: string | null): string[] {
    return token === null ? [] : [TOKEN_PROTOCOL + token];
  }

  /** A welcome arrived: refresh ahead of `expires` (epoch ms) when a new token can be had. */
  welcomed(expires: number | null | undefined): void {
    this.detached();
    if (typeof expires !== "number" || this.#o.getToken === null) return;
    const left = expires - this.#o.now();
    const delay = Math.max(0, left - Math.min(this.#o.refreshAheadMs, left / 2));
    this.#timer = this.#o.timers.setTimer(() => {
      this.#timer = null;
      void this.#refresh();
    }, Math.min(delay, 2 ** 31 - 1));
  }

  /** The socket was let go of: no refresh until the next welcome. */
  detached(): void {
    if (this.#timer !== null) this.#o.timers.clearTimer(this.#timer);
    this.#timer = null;
  }

  /**
   * Asks the server why the handshake to `url` failed, with a plain GET carrying the token (the
   * server checks tokens before anything else): the refusal for 401 and 403, else null (the
   * failure was something else, or the probe itself failed).
   */
  async probe(url: string): Promise<Refusal | null> {
    const doFetch = this.#o.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!doFetch || url === "") return null;
    const headers: Record<string, string> = this.#token === null
      ? {}
      : { authorization: `Bearer ${this.#token}` };
    try {
      const http = new URL(url);
      http.protocol = http.protocol === "wss:" ? "https:" : "http:";
      const res = await doFetch(http.href, { headers });
      const text = (await res.text()).trim().slice(0, 300);
      if (res.status === 401 || res.status === 403) return { status: res.status, reason: text };
      return null;
    } catch {
      return null;
    }
  }

  async #refresh(): Promise<void> {
    let token: string;
    try {
      token = checked(await this.#o.getToken!());
    } catch (err) {
      this.#o.events.emit("error", {
        code: "token_unavailable",
        message: `getToken failed: ${err instanceof Error ? err.message : String(err)}`,
      });
      return;
    }
    this.#token = token;
    const ref = `refresh-${++this.#refreshes}`;
    this.#o.transmit(JSON.stringify({ type: "refresh", token, ref }));
  }
}

function checked(token: unknown): string {
  if (typeof token !== "string" || !/^[A-Za-z0-9_.-]+$/.test(token)) {
    throw new TypeError("getToken must return a JWT (base64url parts separated by dots)");
  }
  return token;
}
