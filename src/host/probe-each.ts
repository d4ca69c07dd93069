// Host.probeEach's rule, in one place: a call per answer, and the batch settles once every target
// has had its call, rejecting then with the first error a call threw. The probe runner calls back
// as answers arrive; FakeHost and FixtureHost, whose answers are all known at once, via probeEachOf.
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

// The per-answer function of a batch of `n`: it calls `each(i, r)`; after the n-th call, `resolve`,
// or `reject` with the first error a call threw. A batch of none resolves at once.
export function answerEach(
  n: number,
  each: (i: number, r: ProbeResult) => void,
  resolve: () => void,
  reject: (error: unknown) => void,
): (i: number, r: ProbeResult) => void {
  let left = n;
  let failed: { error: unknown } | null = null;
  if (left === 0) resolve();
  return (i, r) => {
    try {
      each(i, r);
    } catch (error) {
      failed ??= { error };
    }
    if (--left === 0) {
      if (failed) reject(failed.error);
      else resolve();
    }
  };
}

// Call `each(i, r)` for every answer of `probe`, in target order.
export async function probeEachOf(
  probe: (targets: readonly ProbeTarget[], opts: ProbeOptions) => Promise<ProbeResult[]>,
  targets: readonly ProbeTarget[],
  opts: ProbeOptions,
  each: (i: number, r: ProbeResult) => void,
): Promise<void> {
  const results = await probe(targets, opts);
  return new Promise((resolve, reject) => {
    const one = answerEach(results.length, each, resolve, reject);
    for (const [i, r] of results.entries()) one(i, r);
  });
}
