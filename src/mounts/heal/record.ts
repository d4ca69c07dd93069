// Recording recipes of live daemons (scan, diagnose, heal) and resolving the best recipe for a mount.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Host } from '../../host/types.js';
import type { DaemonInfo } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { readMounts, scanDetails, type ScanDetails, type ScanReport } from '../scan.js';
import { findFuseDaemon, readProcessTable, type ProcessInfo } from '../process-table.js';
import { KNOWN_DAEMONS } from '../backends/index.js';
import { readProcStat } from '../../host/proc.js';
import type { Recipe } from './recipe.js';
import { DB_FILE, RecipeStore } from './recipe-store.js';
import {
  configRecipe,
  fstabRecipe,
  reconstructRecipe,
  recipeFromProcess,
  retargetArgv,
  systemdRecipe,
} from './recipes.js';
import type { StoredRecipe } from './recipe-store.js';

export interface ResolveOptions {
  configFile?: string;
}

async function openStore(host: Host): Promise<RecipeStore | null> {
  try {
    return await RecipeStore.open(host);
  } catch {
    return null; // an unwritable state dir never stops a scan, a diagnosis or a heal
  }
}

// Record the recipe of the live daemon `pid` serving `mount`; null when /proc cannot tell. Never throws.
// Only scan and watch record, through an explicit call; diagnose and heal only read.
export async function recordRecipe(host: Host, mount: MountInfo, pid: number): Promise<Recipe | null> {
  try {
    const got = await recipeFromProcess(host, mount, pid);
    if (!got) return null;
    const store = await openStore(host);
    if (store) {
      try {
        store.putMany([{ recipe: got.recipe, daemonPid: pid, daemonStart: got.daemonStart }]);
      } finally {
        store.close();
      }
    }
    return got.recipe;
  } catch {
    return null;
  }
}

// The daemons a scan last found all recorded, as one digest of (mountpoint, source, pid, start):
// while it matches, nothing changed, and the store is not even opened (loading SQLite and reading
// every row cost a scan of 200 mounts ~25 ms). Only recordLiveRecipes writes it, after the store
// held every one of those daemons; any new daemon (a remount, a restart) changes the digest.
export const SEEN_FILE = 'recipes-seen';

function seenDigest(daemons: ReadonlyArray<{ m: MountInfo; pid: number; start: number | null }>): string {
  const keys = daemons.map(({ m, pid, start }) => JSON.stringify([m.mountpoint, m.source, pid, start])).sort();
  return `v1 ${createHash('sha256').update(keys.join('\n')).digest('hex')}\n`;
}

// After a scan: record the recipe of every healthy FUSE mount's daemon, in one transaction.
// Daemons already recorded (same pid and start time) are skipped. `details`: what the scan read on
// its way (its mount and process tables), handed over explicitly because this module may be loaded
// from a file of its own (scripts/bundle.mjs). Never throws; returns how many were written.
export async function recordLiveRecipes(
  host: Host,
  report: ScanReport,
  details: ScanDetails | undefined = scanDetails(report),
): Promise<number> {
  try {
    // `denied`: a FUSE mount without allow_other seen by root; its daemon is alive all the same.
    const healthy = report.mounts.filter(
      (m) => (m.state === 'healthy' || m.state === 'denied') && /^fuse(\.|blk$|$)/.test(m.fstype),
    );
    if (healthy.length === 0) return 0;
    // The scan's own mount and process tables when it has them (this process just read them).
    const mounts = details?.mounts ?? (await readMounts(host));
    const byId = new Map(mounts.map((x) => [x.id, x]));
    const scanned = new Map((details?.processes ?? []).map((p) => [p.pid, p]));
    // The full process table only when a mount's daemon is not known yet; otherwise each known
    // daemon's start time comes from the scan's table, or its own /proc/<pid>/stat.
    let table: Promise<ProcessInfo[]> | null = null;
    const fullTable = (): Promise<ProcessInfo[]> => (table ??= readProcessTable(host));
    const found = await Promise.all(
      healthy.map(async (r) => {
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
    const daemons = found.filter((x): x is NonNullable<typeof x> => x !== null);
    if (daemons.length === 0) return 0;
    const digest = seenDigest(daemons);
    const seenFile = path.join(host.stateDir, SEEN_FILE);
    if ((await host.readText(seenFile)) === digest && (await host.fileExists(path.join(host.stateDir, DB_FILE)))) {
      return 0;
    }
    const store = await openStore(host);
    if (!store) return 0;
    let written = 0;
    let current = 0; // daemons the store holds as they are now
    try {
      const known = store.known();
      const rows: Array<{ recipe: Recipe; daemonPid: number; daemonStart: number | null }> = [];
      for (const { m, pid, start } of daemons) {
        const prev = known.get(`${m.mountpoint}\0${m.source}`);
        if (prev && prev.pid === pid && prev.start === start) {
          current++;
          continue;
        }
        const got = await recipeFromProcess(host, m, pid);
        if (got) rows.push({ recipe: got.recipe, daemonPid: pid, daemonStart: got.daemonStart });
      }
      written = rows.length > 0 ? store.putMany(rows) : 0;
      current += written;
    } finally {
      store.close();
    }
    if (current === daemons.length) await host.writeText(seenFile, digest, { atomic: true, mode: 0o600 });
    else await host.removeFile(seenFile);
    return written;
  } catch {
    return 0;
  }
}

// The best recipe for remounting, tried in order: config, the live daemon (recorded now), the
// recorded store, /etc/fstab, a systemd unit, and last a recipe reconstructed from the mount table.
export async function resolveRecipeFor(
  host: Host,
  mount: MountInfo,
  daemon: DaemonInfo | null,
  opts: ResolveOptions = {},
): Promise<Recipe | null> {
  const fromConfig = await configRecipe(host, mount, opts.configFile);
  if (fromConfig) return fromConfig;
  // Resolving only reads: the live daemon's recipe is read (and judged), never stored here.
  if (daemon?.pid != null && daemon.source === 'proc') {
    const st = await readProcStat(host, daemon.pid);
    if (st && st.state !== 'Z') {
      const live = await recipeFromProcess(host, mount, daemon.pid).catch(() => null);
      if (live?.recipe.trust?.trusted) return live.recipe;
    }
  }
  const store = await openStore(host);
  if (store) {
    try {
      const stored = store.get(mount.mountpoint, mount.source) ?? movedRecipe(store, mount, await readMounts(host));
      if (stored) {
        const { daemonPid: _p, daemonStart: _s, ...recipe } = stored;
        return recipe;
      }
    } catch {
      // a corrupt or locked store: fall through to the other sources
    } finally {
      store.close();
    }
  }
  return (
    (await fstabRecipe(host, mount)) ??
    (await systemdRecipe(host, mount)) ??
    (await reconstructRecipe(host, mount, daemon?.argv ?? null))
  );
}

// The recipe of a moved mountpoint (DESIGN §6: found by identity and source, not only by old path):
// the one recipe recorded for this source, type and owner whose old mountpoint no longer holds a
// mount of that source, with its argv pointed at the new path. Null when none, or several, fit, or
// when the recorded argv does not name its old mountpoint literally.
export function movedRecipe(store: RecipeStore, mount: MountInfo, mounts: readonly MountInfo[]): StoredRecipe | null {
  const owner = mount.superOptions.find((o) => o.startsWith('user_id='))?.slice('user_id='.length);
  const fits = store
    .bySource(mount.source, mount.fstype)
    .filter(
      (r) =>
        r.mountpoint !== mount.mountpoint &&
        (owner === undefined || String(r.uid) === owner) &&
        !mounts.some((m) => m.mountpoint === r.mountpoint && m.source === r.source),
    );
  if (fits.length !== 1) return null;
  const r = fits[0]!;
  const argv = retargetArgv(r.argv, r.mountpoint, mount.mountpoint);
  if (!argv) return null;
  return {
    ...r,
    argv,
    mountpoint: mount.mountpoint,
    cwd: r.cwd === r.mountpoint || r.cwd?.startsWith(`${r.mountpoint}/`) ? null : r.cwd,
    missing: [`recorded on ${r.mountpoint}; the mountpoint has moved to ${mount.mountpoint} (its parent was renamed)`],
    movedFrom: r.mountpoint,
  };
}
