import assert from "node:assert/strict";
import { MAX_NAME_CHARS, nameProblem, validName } from "../../../lib/protocol/names.ts";
import { parseHandshake } from "../../../lib/protocol/handshake.ts";
import { NAME_KEY, saveName, startName, withoutName } from "../../../lib/web/chat/name.ts";
import {
  CLIENT_KEY,
  holdTabClientId,
  LIVE_KEY,
  releaseTabClientId,
  tabClientId,
} from "../../../lib/web/chat/tab_id.ts";
import { pageProps } from "../../../routes/index.tsx";
import { loadConfig } from "../../../lib/shared/config.ts";

/** An in-memory Storage; `broken` makes every call throw, like disabled storage. */
class FakeStorage {
  data = new Map<string, string>();
  broken = false;
  getItem(key: string): string | null {
    if (this.broken) throw new DOMException("denied", "SecurityError");
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (this.broken) throw new DOMException("denied", "SecurityError");
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    if (this.broken) throw new DOMException("denied", "SecurityError");
    this.data.delete(key);
  }
  /** What a duplicated tab gets: a copy of everything. */
  copy(): FakeStorage {
    const other = new FakeStorage();
    other.data = new Map(this.data);
    return other;
  }
}

const serverAccepts = (name: string) => {
  const url = new URL("ws://h/ws");
  url.searchParams.set("name", name);
  return parseHandshake(url).ok;
};

Deno.test("name rule: the same as the server's, at the 32-character boundary and for bidi", () => {
  const samples = [
    "Ann",
    "x".repeat(MAX_NAME_CHARS),
    "x".repeat(MAX_NAME_CHARS + 1),
    "x".repeat(40),
    "😀".repeat(MAX_NAME_CHARS),
    "  padded  ",
    "   ",
    "a\u202Eb",
    "tab\there",
    "é".repeat(33),
  ];
  for (const name of samples) {
    assert.equal(nameProblem(name) === null, serverAccepts(name), JSON.stringify(name));
  }
  assert.equal(MAX_NAME_CHARS, 32);
  assert.match(nameProblem("x".repeat(40))!, /1-32 characters after trimming, got 40/);
  assert.equal(validName("  Ann "), "Ann");
  assert.equal(validName("x".repeat(33)), null);
  assert.equal(validName(null), null);
});

Deno.test("pageProps: a name the server would refuse is not put into the page", () => {
  const config = loadConfig({});
  const props = (q: string) => pageProps(new URL(`http://h/?${q}`), config);
  assert.equal(props(`name=${"x".repeat(32)}`).name, "x".repeat(32));
  assert.equal(props(`name=${"x".repeat(33)}`).name, null);
  assert.equal(props(`name=${"x".repeat(64)}`).name, null);
  assert.equal(props("name=a%E2%80%AEb").name, null);
  assert.equal(props("name=%20Ann%20").name, "Ann");
});

Deno.test("startName: the link's name wins once and is saved; a rename then survives", () => {
  const store = new FakeStorage();
  assert.deepEqual(startName("Ann", store, () => 0), { name: "Ann", notice: null });
  assert.equal(store.data.get(NAME_KEY), "Ann");
  // The user renames; the next load (URL without name) uses the saved name.
  saveName(store, "Bea");
  assert.deepEqual(startName(null, store, () => 0), { name: "Bea", notice: null });
  assert.deepEqual(startName(null, new FakeStorage(), () => 0), {
    name: "guest-1000",
    notice: null,
  });
});

Deno.test("startName: invalid names from the link or storage are dropped with a notice", () => {
  const store = new FakeStorage();
  store.data.set(NAME_KEY, "y".repeat(40)); // saved by an older page that allowed 64
  const fromStore = startName(null, store, () => 0.5);
  assert.equal(fromStore.name, "guest-5500");
  assert.match(fromStore.notice!, /saved name was reset: name must be 1-32 characters/);
  assert.equal(store.data.has(NAME_KEY), false, "the bad saved name is removed");
  assert.deepEqual(startName(null, store, () => 0.5), { name: "guest-5500", notice: null });

  store.data.set(NAME_KEY, "Cy");
  const fromLink = startName("z".repeat(40), store, () => 0);
  assert.equal(fromLink.name, "Cy");
  assert.match(fromLink.notice!, /name in the link was not used/);
  assert.equal(store.data.get(NAME_KEY), "Cy");
});

Deno.test("startName and saveName: storage that throws counts as empty", () => {
  const store = new FakeStorage();
  store.broken = true;
  assert.deepEqual(startName(null, store, () => 0), { name: "guest-1000", notice: null });
  assert.equal(startName("Ann", store).name, "Ann");
  assert.equal(saveName(store, "Ann"), false);
  assert.equal(saveName(null, "Ann"), false);
});

Deno.test("withoutName: the shareable URL keeps the room and drops the name", () => {
  assert.equal(withoutName("http://h/?room=dev&name=Ann"), "http://h/?room=dev");
  assert.equal(
    withoutName("http://h/?name=Ann&room=a&backoff=1-2"),
    "http://h/?room=a&backoff=1-2",
  );
  assert.equal(withoutName("http://h/?room=dev"), null);
});

Deno.test("tabClientId: kept across a reload, new in a new tab", () => {
  const tab = new FakeStorage();
  let n = 0;
  const random = () => (n++ % 36) / 36;
  const first = tabClientId(tab, random);
  assert.match(first, /^[a-z0-9]{16}$/);
  assert.equal(tab.data.get(CLIENT_KEY), first);
  assert.equal(tab.data.get(LIVE_KEY), first);
  releaseTabClientId(tab, first); // pagehide before the reload
  assert.equal(tab.data.has(LIVE_KEY), false);
  assert.equal(tabClientId(tab, random), first, "a reload keeps the id");
  assert.notEqual(tabClientId(new FakeStorage(), random), first, "a new tab gets its own");
});

Deno.test("tabClientId: a duplicated tab (sessionStorage copied from a live page) gets a new id", () => {
  const original = new FakeStorage();
  let n = 0;
  const random = () => (n++ % 36) / 36;
  const id = tabClientId(original, random);
  const duplicate = original.copy();
  const other = tabClientId(duplicate, random);
  assert.notEqual(other, id);
  assert.equal(duplicate.data.get(CLIENT_KEY), other);
  assert.equal(original.data.get(CLIENT_KEY), id, "the original keeps its id");
  // The duplicate reloads: it keeps its new id.
  releaseTabClientId(duplicate, other);
  assert.equal(tabClientId(duplicate, random), other);
});

Deno.test("tabClientId: bad stored ids are replaced; broken storage gives a fresh id", () => {
  const tab = new FakeStorage();
  tab.data.set(CLIENT_KEY, "no spaces allowed");
  const id = tabClientId(tab, () => 0);
  assert.equal(id, "0".repeat(16));
  const broken = new FakeStorage();
  broken.broken = true;
  assert.equal(tabClientId(broken, () => 0), "0".repeat(16));
  assert.equal(tabClientId(null, () => 0), "0".repeat(16));
  releaseTabClientId(broken, id); // does not throw
  holdTabClientId(broken, id);
});

Deno.test("releaseTabClientId only clears its own marker; holdTabClientId sets it back", () => {
  const tab = new FakeStorage();
  const id = tabClientId(tab, () => 0.1);
  releaseTabClientId(tab, "someone-else");
  assert.equal(tab.data.get(LIVE_KEY), id);
  releaseTabClientId(tab, id);
  holdTabClientId(tab, id); // restored from the back/forward cache
  assert.notEqual(tabClientId(tab.copy(), () => 0.2), id, "a copy now sees it held");
});
