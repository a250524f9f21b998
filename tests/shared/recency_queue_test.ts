import assert from "node:assert/strict";
import { RecencyQueue } from "../../lib/shared/recency_queue.ts";

interface Item {
  name: string;
  queued: number;
}
const item = (name: string): Item => ({ name, queued: 0 });

Deno.test("RecencyQueue: the least recently touched item first; older places are skipped", () => {
  const order = new RecencyQueue<Item>();
  const [a, b, c] = [item("a"), item("b"), item("c")];
  for (const x of [a, b, c, a]) order.touch(x);
  assert.equal(order.oldest(() => true), b, "a was touched again: b is the oldest");
  assert.equal(order.oldest(() => true), b, "left in the queue while accepted");
  assert.equal(order.oldest((x) => x !== b), c, "b refused: dropped, then c");
  assert.equal(b.queued, 0, "b holds no place any more");
  order.touch(b); // b may go again: the newest now
  assert.equal(order.oldest((x) => x !== c), a);
  assert.equal(order.oldest((x) => x !== c && x !== a), b);
  assert.equal(order.oldest(() => false), undefined);
  assert.equal(order.length, 0);
});

Deno.test("RecencyQueue: compact starts again from the table's order once places pile up, every count too", () => {
  const order = new RecencyQueue<Item>();
  const [x, y, busy] = [item("x"), item("y"), item("busy")];
  order.touch(busy); // a place that will be stale: busy is not in the table's order
  for (let i = 0; i < 3000; i++) {
    order.touch(i % 2 ? x : y);
    order.compact(2, () => [x, y], () => [x, y, busy]);
  }
  assert.ok(order.length <= 2 * 2 + 1024, `places held: ${order.length}`);
  assert.equal(busy.queued, 0, "its place is gone, and so is its count");
  order.touch(busy);
  assert.equal(order.oldest((i) => i !== x && i !== y), busy, "busy comes out once touched again");
});
