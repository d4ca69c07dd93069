// Host.probeEach for hosts whose answers are all known at once (FakeHost, FixtureHost): every
// answer of their probe(), in target order.
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

// Call `each(i, r)` for every answer of `probe`; the first error a call throws rejects after the last call.
export async function probeEachOf(
  probe: (targets: readonly ProbeTarget[], opts: ProbeOptions) => Promise<ProbeResult[]>,
  targets: readonly ProbeTarget[],
  opts: ProbeOptions,
  each: (i: number, r: ProbeResult) => void,
): Promise<void> {
  const results = await probe(targets, opts);
  let failed: { error: unknown } | null = null;
  for (const [i, r] of results.entries()) {
    try {
      each(i, r);
    } catch (error) {
      failed ??= { error };
    }
  }
  if (failed) throw failed.error;
}
