/**
 * The keys of the server API (`API_KEYS`, comma separated so that a key rotates without
 * downtime): a request's `Authorization: Bearer <key>` is compared with every key, in constant
 * time (SHA-256 of both sides, every byte of every digest looked at), and never logged.
 *
 * @module
 */

/** SHA-256 of `text`. */
async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Checks bearer keys against the configured ones.
 *
 * @example
 * ```ts
 * const keys = new ApiKeys(["k1-0123456789abcdef", "k2-0123456789abcdef"]);
 * await keys.check("Bearer k2-0123456789abcdef"); // 1 (which key)
 * await keys.check("Bearer nope"); // null
 * ```
 */
export class ApiKeys {
  #digests: Promise<Uint8Array[]>;
  readonly size: number;

  constructor(keys: string[]) {
    this.size = keys.length;
    this.#digests = Promise.all(keys.map(digest));
  }

  /**
   * The index of the key an `Authorization` header carries, or null (no header, another scheme,
   * or no key matches). Every key is compared whatever matched, so the time taken says nothing.
   */
  async check(header: string | null | undefined): Promise<number | null> {
    if (!header) return null;
    const space = header.indexOf(" ");
    if (space === -1 || header.slice(0, space).toLowerCase() !== "bearer") return null;
    const presented = await digest(header.slice(space + 1).trim());
    let found = -1;
    const digests = await this.#digests;
    for (let k = 0; k < digests.length; k++) {
      let diff = 0;
      const expected = digests[k];
      for (let i = 0; i < expected.length; i++) diff |= expected[i] ^ presented[i];
      // No branch on the secret: the index is picked arithmetically.
      const same = diff === 0 ? 1 : 0;
      found = same * k + (1 - same) * found;
    }
    return found === -1 ? null : found;
  }
}
