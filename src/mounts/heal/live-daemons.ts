// The live FUSE daemons a scan found, and whether the recipe store already holds each of them as
// it is now. Kept apart from the store so that a scan whose daemons did not change never loads
// SQLite nor the recipe readers (a scan of 200 mounts spent ~25 ms on them).
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Host } from '../../host/types.js';
import { readProcStat } from '../../host/proc.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { readMounts, scanDetails, type ScanDetails, type ScanReport } from '../scan.js';
import { findFuseDaemon, readProcessTable, type ProcessInfo } from '../process-table.js';
import { KNOWN_DAEMONS } from '../backends/index.js';

// The SQLite file that holds recipes (and watch's history), under the state directory.
export const DB_FILE = 'enotconn.db';

// The daemons a scan last found all recorded, as one digest of (mountpoint, source, pid, start):
// while it matches, nothing changed, and the store is not even opened. Only recordDaemons (record.ts)
// writes it, after the store held every one of those daemons; any new daemon (a remount, a
// restart) changes the digest.
export const SEEN_FILE = 'recipes-seen';

// A healthy FUSE mount and the live daemon serving it (start time in clock ticks, or null).
export interface LiveDaemon {
  m: MountInfo;
  pid: number;
  start: number | null;
}

// The daemon of every healthy FUSE mount of a scan report. `details`: what the scan read on its
// way (its mount and process tables), so /proc is not read again. Never throws.
export async function liveDaemons(
  host: Host,
  report: ScanReport,
  details: ScanDetails | undefined = scanDetails(report),
): Promise<LiveDaemon[]> {
  try {
    // `denied`: a FUSE mount without allow_other seen by root; its daemon is alive all the same.
    const healthy = report.mounts.filter(
      (m) => (m.state === 'healthy' || m.state === 'denied') && /^fuse(\.|blk$|$)/.test(m.fstype),
    );
    if (healthy.length === 0) return [];
    const mounts = details?.mounts ?? (await readMounts(host));
    const byId = new Map(mounts.map((x) => [x.id, x]));
    const scanned = new Map((details?.processes ?? []).map((p) => [p.pid, p]));
    // The full process table only when a mount's daemon is not known yet; otherwise each known
    // daemon's start time comes from the scan's table, or its own /proc/<pid>/stat.
    let table: Promise<ProcessInfo[]> | null = null;
    const fullTable = (): Promise<ProcessInfo[]> => (table ??= readProcessTable(host));
    const found = await Promise.all(
      healthy.map(async (r): Promise<LiveDaemon | null> => {
        const m = byId.get(r.id);
        if (!m || m.mountpoint !== r.mountpoint) return null;
        const pid = r.daemonPid ?? (await findFuseDaemon(host, m, await fullTable(), KNOWN_DAEMONS))?.pid ?? null;
        if (pid === null) return null;
        const seen = scanned.get(pid);
        const start =
          seen && seen.state !== '' ? seen.startTicks : ((await readProcStat(host, pid))?.startTicks ?? null);
        return { m, pid, start };
      }),
    );
    return found.filter((x): x is LiveDaemon => x !== null);
  } catch {
    return [];
  }
}

// The digest SEEN_FILE holds for these daemons.
export function seenDigest(daemons: readonly LiveDaemon[]): string {
  const keys = daemons.map(({ m, pid, start }) => JSON.stringify([m.mountpoint, m.source, pid, start])).sort();
  return `v1 ${createHash('sha256').update(keys.join('\n')).digest('hex')}\n`;
}

// True when the store already holds every one of these daemons as it is now (nothing to record).
export async function daemonsRecorded(host: Host, daemons: readonly LiveDaemon[]): Promise<boolean> {
  if (daemons.length === 0) return true;
  const seen = await host.readText(path.join(host.stateDir, SEEN_FILE));
  return seen === seenDigest(daemons) && (await host.fileExists(path.join(host.stateDir, DB_FILE)));
}
