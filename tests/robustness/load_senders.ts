/**
 * The senders' side of the load scenario: a sender stays connected throughout, so it must get
 * every acknowledged message of the other senders exactly once, in offset order, intact.
 *
 * @module
 */

/** What one sender received from the others, in arrival order. */
export interface SenderHeard {
  offsets: number[];
  texts: string[];
  welcomed: boolean;
}

/**
 * Checks each sender's deliveries against the acks (sender `s` used refs `s<s>-<n>`); calls
 * `violate` for each problem and returns how many deliveries the senders should have had.
 *
 * @example
 * ```ts
 * const acks = new Map([["s0-0", 1], ["s1-0", 2]]);
 * const sent = new Map([["s0-0", "a"], ["s1-0", "b"]]);
 * const heard = [
 *   { offsets: [2], texts: ["b"], welcomed: true },
 *   { offsets: [1], texts: ["a"], welcomed: true },
 * ];
 * checkSenders(heard, acks, sent, console.error); // 2, nothing reported
 * ```
 */
export function checkSenders(
  heard: SenderHeard[],
  acks: Map<string, number>,
  sentRefs: Map<string, string>,
  violate: (what: string) => void,
): number {
  let total = 0;
  for (const [s, h] of heard.entries()) {
    const expected = [...acks].filter(([ref]) => !ref.startsWith(`s${s}-`))
      .sort((a, b) => a[1] - b[1]);
    total += expected.length;
    const at = h.offsets.findIndex((o, i) => o !== expected[i]?.[1]);
    if (at >= 0 || h.offsets.length !== expected.length) {
      violate(
        `sender ${s} got ${h.offsets.length} of ${expected.length} others' messages` +
          (at >= 0 ? `; offset ${h.offsets[at]} where ${expected[at]?.[1]} was due` : ""),
      );
    }
    h.texts.forEach((text, i) => {
      const due = expected[i];
      if (due && h.offsets[i] === due[1] && text !== sentRefs.get(due[0])) {
        violate(`sender ${s}: offset ${h.offsets[i]} has the wrong text`);
      }
    });
  }
  return total;
}
