/**
 * The frame pool: size classes and their edges, buffers taken again once given back, the bound
 * per class (what the pool can hold whatever the clients send), and buffers it never takes.
 */

import assert from "node:assert/strict";
import { FramePool } from "../../lib/transport/frame_pool.ts";

Deno.test("FramePool: a view of the size asked over the smallest class that holds it", () => {
  const pool = new FramePool();
  for (
    const [size, buffer] of [
      [512, 1024], // the smallest pooled size
      [1024, 1024],
      [1025, 2048],
      [9000, 16384],
      [65536, 65536], // the largest
    ]
  ) {
    const view = pool.take(size)!;
    assert.equal(view.length, size);
    assert.equal(view.byteOffset, 0);
    assert.equal(view.buffer.byteLength, buffer, `size ${size}`);
  }
  assert.equal(pool.take(511), null, "under the smallest class: allocated by the caller");
  assert.equal(pool.take(65537), null, "over the largest class: allocated by the caller");
  assert.equal(pool.heldBytes, 0, "taking holds nothing");
});

Deno.test("FramePool: a buffer given back is taken again, by any size of its class", () => {
  const pool = new FramePool();
  const first = pool.take(9000)!;
  first.fill(7);
  pool.give(first);
  assert.equal(pool.heldBytes, 16384);
  const again = pool.take(8193)!;
  assert.equal(again.buffer, first.buffer);
  assert.equal(again[0], 7, "not zeroed: the caller overwrites what it takes");
  assert.equal(pool.heldBytes, 0);
  assert.notEqual(pool.take(8193)!.buffer, first.buffer, "a buffer is taken once");
  const other = pool.take(2000)!;
  pool.give(other);
  assert.notEqual(pool.take(9000)!.buffer, other.buffer, "classes do not mix");
});

Deno.test("FramePool: at most perClass free buffers per class, whatever is given", () => {
  const pool = new FramePool({ perClass: 3 });
  const taken = Array.from({ length: 10 }, () => pool.take(4000)!);
  for (const view of taken) pool.give(view);
  assert.equal(pool.heldBytes, 3 * 4096);
  // Every class at its bound: 3 buffers of each of 1, 2, ..., 64 KiB.
  for (let size = 1024; size <= 65536; size *= 2) {
    for (let i = 0; i < 5; i++) pool.give(new Uint8Array(size));
  }
  assert.equal(pool.heldBytes, 3 * (2 * 65536 - 1024));
  const none = new FramePool({ perClass: 0 });
  none.give(none.take(4000)!);
  assert.equal(none.heldBytes, 0);
  assert.throws(
    () => new FramePool({ perClass: -1 }),
    /perClass must be a non-negative integer, got -1/,
  );
});

Deno.test("FramePool: buffers of other sizes and views that do not start a buffer are not kept", () => {
  const pool = new FramePool();
  pool.give(new Uint8Array(3000)); // not a class size
  pool.give(new Uint8Array(512)); // under the smallest class
  pool.give(new Uint8Array(1 << 17)); // over the largest
  pool.give(new Uint8Array(8192).subarray(1)); // a view into the middle of a buffer
  assert.equal(pool.heldBytes, 0);
});
