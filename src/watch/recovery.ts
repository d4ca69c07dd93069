// Finishing or rolling back a heal that a kill -9 of watch interrupted (issue 4 "State"): each heal
// is journaled before its first step; on start, every journal entry left by a dead watch is settled
// so the mountpoint ends with exactly one mount, never two and never a forgotten dead one.
//   1. let a mount command the old heal started finish (or kill it after a timeout);
//   2. one mount that answers → the heal finished; record it;
//   3. two or more (a remount stacked on the dead mount) → unmount them all and mount once from the
//      journaled recipe (rolled back, then redone); without a recipe, keep the bottom one for the loop;
//   4. none → mount once from the recipe.
import path from 'node:path';
import type { Host } from '../host/types.js';
import { detachArgv } from '../mounts/heal/recipes.js';
import type { Recipe } from '../mounts/heal/recipe.js';
import { mountKey } from '../mounts/scan.js';
import type { Logger } from './logger.js';
import { mountsAt, pendingMounters, pollUntil, unmountDownTo } from './mount-table.js';
import type { JournalRow, WatchStore } from './store.js';

export interface RecoveryOutcome {
  mountpoint: string;
  result: 'finished' | 'rolled-back' | 'remounted' | 'left-to-loop' | 'failed' | 'managed';
  mountsBefore: number;
  mountsAfter: number;
  detail: string;
}

export interface RecoveryOptions {
  probeTimeoutMs: number;
  settleMs: number; // how long to let a leftover mount command finish
}

// Settle every journal entry left by a watch process that is gone.
export async function recoverInterruptedHeals(
  host: Host,
  store: WatchStore,
  log: Logger,
  opts: RecoveryOptions,
): Promise<RecoveryOutcome[]> {
  const out: RecoveryOutcome[] = [];
  for (const j of store.journalEntries()) {
    if (j.pid === process.pid) continue;
    const started = host.now();
    let o: RecoveryOutcome;
    try {
      o = j.kind === 'managed' ? await managedEntry(host, j) : await observedEntry(host, j, log, opts);
    } catch (e) {
      o = {
        mountpoint: j.mountpoint,
        result: 'failed',
        mountsBefore: -1,
        mountsAfter: -1,
        detail: (e as Error).message,
      };
    }
    const finished = host.now();
    store.journalEnd(j.mountpoint);
    if (j.kind === 'observed') {
      store.recordHeal({
        incidentId: j.incidentId,
        mountpoint: j.mountpoint,
        startedAt: started,
        finishedAt: finished,
        action: 'recover-journal',
        result: o.result,
        reason: o.detail,
        durationMs: finished - started,
        steps: [],
      });
      if (j.incidentId !== null) store.addAction(j.incidentId, `after a watch restart: ${o.result} (${o.detail})`);
    }
    log.warn(
      { recovery: o, interruptedPid: j.pid, phase: j.phase },
      `interrupted heal of ${j.mountpoint}: ${o.result}`,
    );
    out.push(o);
  }
  return out;
}

// A managed mount's entry: its supervisor settles the mountpoint when it starts.
async function managedEntry(host: Host, j: JournalRow): Promise<RecoveryOutcome> {
  const n = (await mountsAt(host, j.mountpoint)).length;
  return {
    mountpoint: j.mountpoint,
    result: 'managed',
    mountsBefore: n,
    mountsAfter: n,
    detail: 'settled by its supervisor',
  };
}

async function observedEntry(host: Host, j: JournalRow, log: Logger, opts: RecoveryOptions): Promise<RecoveryOutcome> {
  const mp = j.mountpoint;
  // 1. A remount the old heal started may still be connecting: let it finish rather than race it.
  const pending = await pendingMounters(host, mp);
  if (pending.length > 0) {
    log.info({ mountpoint: mp, pids: pending }, 'waiting for the interrupted heal’s mount command');
    const settled = await pollUntil(async () => (await pendingMounters(host, mp)).length === 0, opts.settleMs, 100);
    if (!settled) for (const pid of await pendingMounters(host, mp)) host.signal(pid, 'SIGKILL');
  }
  const before = await mountsAt(host, mp);
  const recipe = isRecipe(j.recipe) ? j.recipe : null;
  if (before.length === 1) {
    const state = await probeState(host, mp, opts);
    // A remount still connecting answers nothing yet (hung): sshfs mounts first and connects after.
    // A mount the heal did not start with is its remount too. Give either time to come up.
    const fresh = !j.mountIds.includes(before[0]!.id);
    if (
      state === 'healthy' ||
      ((state === 'hung' || fresh) && (await pollUntil(() => healthy(host, mp, opts), opts.settleMs, 200)))
    ) {
      return {
        mountpoint: mp,
        result: 'finished',
        mountsBefore: 1,
        mountsAfter: (await mountsAt(host, mp)).length,
        detail: 'the interrupted heal had remounted it; validated by a probe',
      };
    }
  }
  if (before.length >= 2) {
    if (!recipe) {
      await unmountDownTo(host, mp, 1);
      const after = (await mountsAt(host, mp)).length;
      return {
        mountpoint: mp,
        result: 'left-to-loop',
        mountsBefore: before.length,
        mountsAfter: after,
        detail: 'no recipe: kept one mount for the loop to heal',
      };
    }
    await unmountDownTo(host, mp, 0);
    const r = await mountFromRecipe(host, recipe, opts);
    const after = (await mountsAt(host, mp)).length;
    return {
      mountpoint: mp,
      result: r.ok ? 'rolled-back' : 'failed',
      mountsBefore: before.length,
      mountsAfter: after,
      detail: r.ok ? `unmounted ${before.length} and mounted once from the recipe` : r.detail,
    };
  }
  if (before.length === 0) {
    if (!recipe)
      return {
        mountpoint: mp,
        result: 'failed',
        mountsBefore: 0,
        mountsAfter: 0,
        detail: 'no mount and no recipe to remount it',
      };
    const r = await mountFromRecipe(host, recipe, opts);
    const after = (await mountsAt(host, mp)).length;
    return {
      mountpoint: mp,
      result: r.ok ? 'remounted' : 'failed',
      mountsBefore: 0,
      mountsAfter: after,
      detail: r.detail,
    };
  }
  return {
    mountpoint: mp,
    result: 'left-to-loop',
    mountsBefore: 1,
    mountsAfter: 1,
    detail: 'one unhealthy mount: the loop heals it',
  };
}

async function probeState(host: Host, mp: string, opts: RecoveryOptions): Promise<string | null> {
  const top = (await mountsAt(host, mp)).at(-1);
  if (!top) return null;
  const [r] = await host.probe([{ key: mountKey(top), path: mp }], { timeoutMs: opts.probeTimeoutMs, concurrency: 1 });
  return r?.state ?? null;
}

async function healthy(host: Host, mp: string, opts: RecoveryOptions): Promise<boolean> {
  return (await probeState(host, mp, opts)) === 'healthy';
}

// Run a recipe's command detached (it returns once the mount is up), as its owner, then validate.
export async function mountFromRecipe(
  host: Host,
  recipe: Recipe,
  opts: RecoveryOptions,
): Promise<{ ok: boolean; detail: string }> {
  const argv = detachArgv(recipe.argv);
  await host.mkdirp(host.runDir).catch(() => undefined);
  const r = await host.exec(argv, {
    uid: recipe.uid,
    gid: recipe.gid,
    env: recipe.env,
    ...(recipe.cwd !== null ? { cwd: recipe.cwd } : {}),
    timeoutMs: Math.max(opts.settleMs, 5000),
    outputFile: path.join(host.runDir, 'watch-remount.log'),
  });
  if (r.code !== 0)
    return {
      ok: false,
      detail: `${argv.join(' ')} failed: ${r.spawnError ?? `exit ${r.code ?? r.signal}`} ${r.stderr.trim().slice(-200)}`,
    };
  const ok = await pollUntil(() => healthy(host, recipe.mountpoint, opts), 5000, 50);
  return {
    ok,
    detail: ok
      ? `mounted with ${argv.join(' ')}; validated by a probe`
      : `${argv.join(' ')} ran but the mount does not answer`,
  };
}

function isRecipe(x: unknown): x is Recipe {
  return (
    typeof x === 'object' && x !== null && Array.isArray((x as Recipe).argv) && typeof (x as Recipe).uid === 'number'
  );
}
