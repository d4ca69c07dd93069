// Small mount-table helpers shared by the loop, the supervisor and journal recovery.
import type { Host } from '../host/types.js';
import type { MountInfo } from '../mounts/mountinfo/parse.js';
import { readMounts } from '../mounts/scan.js';
import { holdsDevFuse, readProcessTable } from '../mounts/process-table.js';

// Every mount stacked at `mountpoint`, bottom first (mount-table order).
export async function mountsAt(host: Host, mountpoint: string): Promise<MountInfo[]> {
  return (await readMounts(host)).filter((m) => m.mountpoint === mountpoint);
}

// Lazily unmount the top mount at `mountpoint` until at most `keep` remain (at most 8 rounds).
// Why lazy (-z / -l): a plain unmount of a dead or hung FUSE mount blocks or fails with EBUSY;
// a lazy one detaches it at once and the kernel frees it when the last user goes (umount(2) MNT_DETACH).
export async function unmountDownTo(host: Host, mountpoint: string, keep: number): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < 8; i++) {
    const stack = await mountsAt(host, mountpoint);
    if (stack.length <= keep) break;
    const top = stack.at(-1)!;
    const argv =
      top.type === 'fuse' || top.type === 'fuseblk' ? ['fusermount3', '-uz', mountpoint] : ['umount', '-l', mountpoint];
    const r = await host.exec(argv, { timeoutMs: 5000 });
    done.push(`${argv.join(' ')} → ${r.code === 0 ? 'ok' : (r.spawnError ?? `exit ${r.code ?? r.signal}`)}`);
    if (r.code !== 0 && argv[0] === 'fusermount3') {
      // fusermount3 refuses mounts it does not own in some setups; umount -l works for root.
      await host.exec(['umount', '-l', mountpoint], { timeoutMs: 5000 });
    }
  }
  return done;
}

// Processes (not this one) whose argv names `mountpoint` and that do not yet hold /dev/fuse: a
// mount command still starting (a remount an interrupted heal began, or a daemon still connecting).
export async function pendingMounters(host: Host, mountpoint: string): Promise<number[]> {
  const want = mountpoint.length > 1 ? mountpoint.replace(/\/+$/, '') : mountpoint;
  const table = await readProcessTable(host);
  const out: number[] = [];
  for (const p of table) {
    if (p.pid === process.pid || p.state === 'Z' || p.argv.length < 2) continue;
    if (!p.argv.slice(1).some((a) => a.replace(/(.)\/+$/, '$1') === want)) continue;
    if (await holdsDevFuse(host, p.pid)) continue;
    out.push(p.pid);
  }
  return out;
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
