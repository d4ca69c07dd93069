// Recording recipes of live daemons (scan, diagnose, heal) and resolving the best recipe for a mount.
import type { Host } from '../../host/types.js';
import type { DaemonInfo } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { readMounts, type ScanReport } from '../scan.js';
import { findFuseDaemon, readProcessTable, type ProcessInfo } from '../process-table.js';
import { KNOWN_DAEMONS } from '../backends/index.js';
import { readProcStat } from '../../host/proc.js';
import type { Recipe } from './recipe.js';
import { RecipeStore } from './recipe-store.js';
import { configRecipe, fstabRecipe, reconstructRecipe, recipeFromProcess, systemdRecipe } from './recipes.js';

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
// diagnose calls this for every live daemon it sees.
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

// After a scan: record the recipe of every healthy FUSE mount's daemon, in one transaction.
// Daemons already recorded (same pid and start time) are skipped. Never throws; returns how many were written.
export async function recordLiveRecipes(host: Host, report: ScanReport): Promise<number> {
  try {
    // `denied`: a FUSE mount without allow_other seen by root; its daemon is alive all the same.
    const healthy = report.mounts.filter(
      (m) => (m.state === 'healthy' || m.state === 'denied') && /^fuse(\.|blk$|$)/.test(m.fstype),
    );
    if (healthy.length === 0) return 0;
    const store = await openStore(host);
    if (!store) return 0;
    try {
      const mounts = await readMounts(host);
      const table: ProcessInfo[] = await readProcessTable(host);
      const known = store.known();
      const rows: Array<{ recipe: Recipe; daemonPid: number; daemonStart: number | null }> = [];
      for (const r of healthy) {
        const m = mounts.find((x) => x.id === r.id && x.mountpoint === r.mountpoint);
        if (!m) continue;
        const pid = r.daemonPid ?? (await findFuseDaemon(host, m, table, KNOWN_DAEMONS))?.pid ?? null;
        if (pid === null) continue;
        const prev = known.get(`${m.mountpoint}\0${m.source}`);
        const start = table.find((p) => p.pid === pid)?.startTicks ?? null;
        if (prev && prev.pid === pid && prev.start === start) continue;
        const got = await recipeFromProcess(host, m, pid);
        if (got) rows.push({ recipe: got.recipe, daemonPid: pid, daemonStart: got.daemonStart });
      }
      if (rows.length > 0) store.putMany(rows);
      return rows.length;
    } finally {
      store.close();
    }
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
  if (daemon?.pid != null && daemon.source === 'proc') {
    const st = await readProcStat(host, daemon.pid);
    if (st && st.state !== 'Z') {
      const live = await recordRecipe(host, mount, daemon.pid);
      if (live) return live;
    }
  }
  const store = await openStore(host);
  if (store) {
    try {
      const stored = store.get(mount.mountpoint, mount.source);
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
