/**
 * Process memory as the runtime reports it: `/metrics` shows it, the Deno adapter reads it
 * (`Deno.memoryUsage`), and it is zeros where the runtime tells nothing.
 *
 * @module
 */

/**
 * Process memory in bytes.
 *
 * @example
 * ```ts
 * const read = (): MemoryUsage => ({ rss: 0, heapUsed: 0 }); // the default: nothing known
 * ```
 */
export interface MemoryUsage {
  rss: number;
  heapUsed: number;
}
