import assert from "node:assert/strict";
import { type KvHandle, lockPatient } from "../../../lib/engine/kv/kv_handle.ts";

const LOCKED = () => new TypeError("database is locked");

/** A handle over `:memory:` whose operations first fail `fails` times with `error`. */
async function flaky(fails: number, error: () => Error = LOCKED) {
  const kv = await Deno.openKv(":memory:");
  let left = { get: fails, commit: fails, list: fails };
  const handle: KvHandle = {
    get: (key) => left.get-- > 0 ? Promise.reject(error()) : kv.get(key),
    getMany: (keys) => kv.getMany(keys),
    list: (selector, options) => {
      if (left.list-- > 0) {
        return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error()) }) };
      }
      return kv.list(selector, options);
    },
    atomic: () => {
      const atomic = kv.atomic();
      const commit = atomic.commit.bind(atomic);
      atomic.commit = () => left.commit-- > 0 ? Promise.reject(error()) : commit();
      return atomic;
    },
    close: () => kv.close(),
  };
  return { handle, reset: (n: number) => left = { get: n, commit: n, list: n } };
}

Deno.test("lockPatient: operations that met another worker's lock are tried again until they pass", async () => {
  const { handle } = await flaky(3);
  let waits = 0;
  const kv = lockPatient(handle, () => (waits++, Promise.resolve()));
  try {
    const done = await kv.atomic().set(["a"], 1).commit();
    assert.equal(done.ok, true);
    assert.equal((await kv.get<number>(["a"])).value, 1);
    const keys = [];
    for await (const entry of kv.list({ prefix: [] })) keys.push(entry.key);
    assert.deepEqual(keys, [["a"]]);
    assert.equal(waits, 9, "three waits for each of commit, get and list");
  } finally {
    kv.close();
  }
});

Deno.test("lockPatient: other errors, and a lock that outlasts 200 tries, are thrown", async () => {
  const other = await flaky(1, () => new Error("disk full"));
  const kv = lockPatient(other.handle, () => Promise.resolve());
  await assert.rejects(kv.get(["a"]), /disk full/);
  kv.close();
  const stuck = await flaky(200);
  const kv2 = lockPatient(stuck.handle, () => Promise.resolve());
  await assert.rejects(kv2.atomic().set(["a"], 1).commit(), /database is locked/);
  stuck.reset(199);
  assert.equal(
    (await kv2.atomic().set(["a"], 1).commit()).ok,
    true,
    "199 failures: the 200th try passes",
  );
  kv2.close();
});
