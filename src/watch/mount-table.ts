// Small mount-table helpers shared by the loop, the supervisor and journal recovery. Reads only:
// every unmount and mount is a PlanStep run by heal/steps.ts.
import type { Host } from '../host/types.js';
import type { MountInfo } from '../mounts/mountinfo/parse.js';
import { readMounts } from '../mounts/scan.js';

// Every mount stacked at `mountpoint`, bottom first (mount-table order).
export async function mountsAt(host: Host, mountpoint: string): Promise<MountInfo[]> {
  return (await readMounts(host)).filter((m) => m.mountpoint === mountpoint);
}

// Wait until `cond` holds or `ms` pass, polling every `everyMs`; returns whether it held.
export async function pollUntil(cond: () => Promise<boolean> | boolean, ms: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
