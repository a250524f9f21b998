import assert from "node:assert/strict";
import {
  acceptsGzip,
  etagListMatches,
  forEachListItem,
  MAX_ACCEPT_ENCODING_CHARS,
  MAX_IF_NONE_MATCH_CHARS,
  MAX_PROTOCOL_HEADER_CHARS,
  offeredProtocols,
  type ScanStats,
} from "../../lib/shared/header_lists.ts";

const ETAG = '"3f2a0c1d9e8b"';

/**
 * Header shapes that made the old `\s*,\s*` split backtrack, at `n` repetitions (under the cap),
 * and whether they match ETAG.
 */
const SHAPES: Record<string, [(n: number) => string, boolean]> = {
  "spaces inside one member": [(n) => `"x"${" ".repeat(n)}${ETAG}`, false],
  "spaces, comma, tag": [(n) => `${" ".repeat(n)},${ETAG}`, true],
  "many commas": [(n) => `${",".repeat(n)}${ETAG}`, true],
  "comma-space pairs": [(n) => `${", ".repeat(n / 2)}${ETAG}`, true],
  "weak tags": [(n) => `${'W/"x", '.repeat(n / 8)}W/${ETAG}`, true],
  "tabs and spaces": [(n) => `${"\t ".repeat(n / 2)},${ETAG}`, true],
};

Deno.test("etagListMatches: every shape answers correctly, and the scan visits each character at most twice", () => {
  for (const [name, [shape, matches]] of Object.entries(SHAPES)) {
    const per: number[] = [];
    for (const n of [2000, 4000, 8000]) {
      const value = shape(n);
      assert.ok(value.length <= MAX_IF_NONE_MATCH_CHARS, `${name}: under the cap`);
      const stats: ScanStats = { steps: 0 };
      assert.equal(etagListMatches(value, ETAG, stats), matches, `${name} at ${n}`);
      assert.ok(stats.steps <= 2 * value.length + 2, `${name} at ${n}: ${stats.steps} steps`);
      per.push(stats.steps / value.length);
      const other: ScanStats = { steps: 0 };
      assert.equal(etagListMatches(value, '"other"', other), false, `${name} at ${n}, no match`);
      assert.ok(other.steps <= 2 * value.length + 2, `${name} at ${n}, no match: linear`);
    }
    // Linear: the work per character does not grow with the length.
    assert.ok(per[2] <= per[0] + 0.01, `${name}: steps per character ${per.join(", ")}`);
  }
});

Deno.test("etagListMatches: weak and strong tags, *, empty members, no partial matches", () => {
  assert.equal(etagListMatches(ETAG, ETAG), true);
  assert.equal(etagListMatches(`W/${ETAG}`, ETAG), true, "weak comparison");
  assert.equal(etagListMatches(`"a" ,\t${ETAG} , "b"`, ETAG), true);
  assert.equal(etagListMatches("*", ETAG), true);
  assert.equal(etagListMatches(' "a", * ', ETAG), true);
  assert.equal(etagListMatches(",,, ,", ETAG), false);
  assert.equal(etagListMatches("", ETAG), false);
  assert.equal(etagListMatches(null, ETAG), false);
  assert.equal(etagListMatches(ETAG.slice(0, -1), ETAG), false);
  assert.equal(etagListMatches(`${ETAG}x`, ETAG), false);
  assert.equal(etagListMatches(`w/${ETAG}`, ETAG), false, "the weak prefix is case-sensitive");
  assert.equal(etagListMatches(`W/W/${ETAG}`, ETAG), false);
});

Deno.test("etagListMatches: a value of exactly MAX_IF_NONE_MATCH_CHARS is read, one more is ignored", () => {
  const at = " ".repeat(MAX_IF_NONE_MATCH_CHARS - ETAG.length - 1) + "," + ETAG;
  assert.equal(at.length, MAX_IF_NONE_MATCH_CHARS);
  assert.equal(etagListMatches(at, ETAG), true);
  const stats: ScanStats = { steps: 0 };
  assert.equal(etagListMatches(" " + at, ETAG, stats), false, "over the cap: as if absent");
  assert.equal(stats.steps, 0, "a value over the cap is not scanned");
  assert.equal(etagListMatches("*" + " ".repeat(MAX_IF_NONE_MATCH_CHARS), ETAG), false);
});

Deno.test("acceptsGzip: gzip or x-gzip in any case, not with q=0; capped at MAX_ACCEPT_ENCODING_CHARS", () => {
  assert.equal(acceptsGzip("gzip, deflate, br"), true);
  assert.equal(acceptsGzip("br;q=1.0, GZIP;q=0.5"), true);
  assert.equal(acceptsGzip("x-gzip"), true);
  assert.equal(acceptsGzip("gzip;q=0"), false);
  assert.equal(acceptsGzip("gzip; q=0.000, br"), false);
  assert.equal(acceptsGzip("br, notgzip, gzipx"), false);
  assert.equal(acceptsGzip(""), false);
  assert.equal(acceptsGzip(null), false);
  const at = " ".repeat(MAX_ACCEPT_ENCODING_CHARS - 5) + ",gzip";
  assert.equal(at.length, MAX_ACCEPT_ENCODING_CHARS);
  assert.equal(acceptsGzip(at), true);
  assert.equal(acceptsGzip(" " + at), false, "over the cap: identity");
  const stats: ScanStats = { steps: 0 };
  acceptsGzip(`${" ".repeat(1000)}br`, stats);
  assert.ok(stats.steps <= 2 * 1002 + 2, `${stats.steps} steps`);
});

Deno.test("offeredProtocols: trimmed members; a value of exactly MAX_PROTOCOL_HEADER_CHARS is read, one more is null", () => {
  assert.deepEqual(offeredProtocols(" fanout.v1 ,chat,, "), ["fanout.v1", "chat"]);
  assert.deepEqual(offeredProtocols(null), []);
  const at = `fanout.v1,${" ".repeat(MAX_PROTOCOL_HEADER_CHARS - 12)},x`;
  assert.equal(at.length, MAX_PROTOCOL_HEADER_CHARS);
  assert.deepEqual(offeredProtocols(at), ["fanout.v1", "x"]);
  assert.equal(offeredProtocols(at + " "), null);
});

Deno.test("forEachListItem stops at the first member the visitor accepts", () => {
  const seen: string[] = [];
  assert.equal(forEachListItem("a, b, c", (item) => (seen.push(item), item === "b")), true);
  assert.deepEqual(seen, ["a", "b"]);
});
