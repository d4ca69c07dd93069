// The per-mount heal lock: one file per mountpoint under ${runDir}/locks (/run/enotconn/locks for
// root). It holds the owner's pid and start time, so a lock left by a crashed heal is recognised as
// stale (its owner is gone, or the pid was reused by another process) and taken over.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Host } from '../../host/types.js';
import { readProcStat } from '../../host/proc.js';

export interface LockOwner {
  pid: number;
  start: number; // start time of the owner, clock ticks after boot (/proc/<pid>/stat field 22)
  mountpoint: string;
  since: string; // ISO
  command: string;
}

export type LockResult =
  | { ok: true; file: string; release: () => Promise<void>; tookOverStale: LockOwner | null }
  | { ok: false; file: string; owner: LockOwner };

// The lock file of a mountpoint.
export function lockFile(host: Host, mountpoint: string): string {
  const h = createHash('sha256').update(mountpoint).digest('hex').slice(0, 24);
  return path.join(host.runDir, 'locks', `heal-${h}.lock`);
}

// True when the owner recorded in a lock is still the same running process.
export async function ownerAlive(host: Host, owner: LockOwner): Promise<boolean> {
  const st = await readProcStat(host, owner.pid);
  return st !== null && st.state !== 'Z' && st.startTicks === owner.start;
}

// Take the heal lock of `mountpoint` for process `pid` (default: this one). Never waits: a live
// owner means another heal is running, and the caller refuses.
export async function acquireHealLock(
  host: Host,
  mountpoint: string,
  opts: { pid?: number; command?: string } = {},
): Promise<LockResult> {
  const file = lockFile(host, mountpoint);
  await host.mkdirp(path.dirname(file), 0o755);
  const pid = opts.pid ?? process.pid;
  const st = await readProcStat(host, pid);
  const me: LockOwner = {
    pid,
    start: st?.startTicks ?? 0,
    mountpoint,
    since: new Date(host.now()).toISOString(),
    command: opts.command ?? 'enotconn heal',
  };
  let tookOverStale: LockOwner | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await host.createExclusive(file, `${JSON.stringify(me)}\n`, 0o644)) {
      const release = async (): Promise<void> => {
        // Remove only our own lock: a later owner's file is left alone.
        const cur = parseOwner(await host.readText(file));
        if (cur && cur.pid === me.pid && cur.start === me.start) await host.removeFile(file);
      };
      return { ok: true, file, release, tookOverStale };
    }
    let owner = parseOwner(await host.readText(file));
    if (!owner) {
      // Empty: maybe another healer between its create and its write. Look again shortly.
      await new Promise((r) => setTimeout(r, 100));
      owner = parseOwner(await host.readText(file));
    }
    if (owner && (await ownerAlive(host, owner))) return { ok: false, file, owner };
    // Stale (owner gone, pid reused) or unreadable (a crash mid-write): remove it and try again.
    // A narrow race remains between two healers that both find the same stale lock; O_EXCL still
    // lets only one of them create the new one.
    tookOverStale = owner;
    await host.removeFile(file);
  }
  const owner = parseOwner(await host.readText(file));
  return { ok: false, file, owner: owner ?? { pid: 0, start: 0, mountpoint, since: '', command: '?' } };
}

function parseOwner(text: string | null): LockOwner | null {
  if (!text) return null;
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.start !== 'number') return null;
    return {
      pid: o.pid,
      start: o.start,
      mountpoint: String(o.mountpoint ?? ''),
      since: String(o.since ?? ''),
      command: String(o.command ?? ''),
    };
  } catch {
    return null;
  }
}
