/**
 * The nesting depth of a parsed JSON value, measured without recursion (a deeply nested value
 * cannot overflow the stack here) and stopping as soon as it passes the bound: the check that
 * keeps a deep `data` payload, a CPU and stack attack on whoever walks it, out of every room.
 *
 * @module
 */

/**
 * True when `value` nests arrays and objects deeper than `max` levels (a scalar is depth 0,
 * `[1]` and `{"a":1}` depth 1).
 *
 * @example
 * ```ts
 * exceedsDepth({ a: [1, { b: 2 }] }, 3); // false: depth 3
 * exceedsDepth([[[[]]]], 3); // true: depth 4
 * ```
 */
export function exceedsDepth(value: unknown, max: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node as object);
    for (const child of children) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
