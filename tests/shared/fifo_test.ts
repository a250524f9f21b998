import assert from "node:assert/strict";
import { Fifo } from "../../lib/shared/fifo.ts";

Deno.test("Fifo: items come out in the order they went in, across compactions", () => {
  const queue = new Fifo<number>();
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.peek(), undefined);
  let next = 0;
  let expected = 0;
  // Keep about 700 queued while 10,000 pass: the front is compacted many times on the way.
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 100; i++) queue.push(next++);
    const take = round < 93 ? 93 : 200;
    for (let i = 0; i < take && queue.length > 0; i++) {
      assert.equal(queue.peek(), expected);
      assert.equal(queue.shift(), expected++);
    }
    assert.equal(queue.length, next - expected);
  }
  while (queue.length > 0) assert.equal(queue.shift(), expected++);
  assert.equal(expected, 10_000);
  assert.equal(queue.shift(), undefined);
});

Deno.test("Fifo: clear empties it, and it works again after", () => {
  const queue = new Fifo<string>();
  queue.push("a");
  queue.push("b");
  queue.clear();
  assert.equal(queue.length, 0);
  assert.equal(queue.shift(), undefined);
  queue.push("c");
  assert.equal(queue.shift(), "c");
});

Deno.test("Fifo: retain keeps the accepted items in order, after shifts too", () => {
  const queue = new Fifo<number>();
  for (let i = 0; i < 10; i++) queue.push(i);
  queue.shift();
  queue.shift();
  queue.retain((n) => n % 3 !== 0);
  assert.equal(queue.length, 5);
  const out: number[] = [];
  queue.push(10);
  while (queue.length > 0) out.push(queue.shift()!);
  assert.deepEqual(out, [2, 4, 5, 7, 8, 10]);
});
