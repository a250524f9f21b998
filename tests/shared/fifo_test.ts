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
