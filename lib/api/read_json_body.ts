/**
 * Reads a request's JSON body within a byte bound: a `Content-Length` over it is refused before
 * reading, and a body without one is read only until it passes the bound (413 either way).
 *
 * @module
 */

import { apiError } from "./api_error.ts";

/**
 * One strict decoder for every body: a whole decode (not streamed) keeps no state from one call to
 * the next, a failed one included.
 */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A parsed body, or the error response to send. */
export type JsonBody = { ok: true; value: unknown } | { ok: false; response: Response };

/**
 * Reads and parses the body of `req`, at most `maxBytes` bytes.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(req, 65536);
 * if (!body.ok) return body.response; // 400 invalid_body or 413 too_large
 * ```
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<JsonBody> {
  const tooLarge = () => ({
    ok: false as const,
    response: apiError(413, "too_large", `the body is over the limit of ${maxBytes} bytes`),
  });
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) {
    await req.body?.cancel();
    return tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        return tooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, response: apiError(400, "invalid_body", "the body is not valid UTF-8") };
  }
  if (text.trim() === "") {
    return { ok: false, response: apiError(400, "invalid_body", "the body is empty: send JSON") };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      response: apiError(
        400,
        "invalid_body",
        `the body is not valid JSON: ${reason.slice(0, 120)}`,
      ),
    };
  }
}
