// Recording recipes of live daemons (scan, diagnose, heal) and resolving the best recipe for a mount.
import path from 'node:path';
import type { Host } from '../../host/types.js';
import type { DaemonInfo } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { readMounts, scanDetails, type ScanDetails, type ScanReport } from '../scan.js';
import { readProcStat } from '../../host/proc.js';
import type { Recipe } from './recipe.js';
import { RecipeStore } from './recipe-store.js';
import { daemonsRecorded, liveDaemons, SEEN_FILE, seenDigest, type LiveDaemon } from './live-daemons.js';
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

// After a scan: record the recipe of every healthy FUSE mount's daemon, in one transaction, unless
// the store already holds every one of them as it is now. `details`: what the scan read on its way
// (its mount and process tables), handed over explicitly because this module may be loaded from a
// file of its own (scripts/bundle.mjs). Never throws; returns how many were written.
export async function recordLiveRecipes(
  host: Host,
  report: ScanReport,
  details: ScanDetails | undefined = scanDetails(report),
): Promise<number> {
  try {
    const daemons = await liveDaemons(host, report, details);
    return (await daemonsRecorded(host, daemons)) ? 0 : await recordDaemons(host, daemons);
  } catch {
    return 0;
  }
}

// Record these daemons' recipes (a caller that found them not recorded, daemonsRecorded), in one
// transaction; daemons the store holds as they are now (same pid and start time) are skipped.
// Never throws; returns how many were written.
export async function recordDaemons(host: Host, daemons: readonly LiveDaemon[]): Promise<number> {
  try {
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
    const seenFile = path.join(host.stateDir, SEEN_FILE);
    if (current === daemons.length) await host.writeText(seenFile, seenDigest(daemons), { atomic: true, mode: 0o600 });
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
