/**
 * Errors of the server API: one JSON shape, `{"error":{"code","message"}}`, with the status that
 * says what went wrong. Never a stack trace, never a secret.
 *
 * @module
 */

/** Codes of API errors; each comes with a sentence saying what was wrong. */
export type ApiErrorCode =
  | "api_disabled"
  | "unauthorized"
  | "invalid_body"
  | "invalid_room"
  | "invalid_query"
  | "too_deep"
  | "too_large"
  | "ref_conflict"
  | "rate_limited"
  | "unavailable"
  | "not_found"
  | "internal";

/** The body of an API error. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/**
 * A JSON error response.
 *
 * @example
 * ```ts
 * apiError(400, "invalid_room", 'room must be 1-64 characters of a-z, 0-9, _ and -, got "A"');
 * ```
 */
export function apiError(
  status: number,
  code: ApiErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ApiErrorBody = { error: { code, message } };
  return apiJson(body, status, headers);
}

/**
 * A JSON response of the API (never cached).
 *
 * @example
 * ```ts
 * apiJson({ closed: 2 }); // 200
 * ```
 */
export function apiJson(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}
