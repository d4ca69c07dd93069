// Finishing or rolling back a heal that a kill -9 of watch interrupted. Each observed heal writes
// its whole plan to the journal before its first step, and the index of every step as it ends. On
// start, every entry left by a dead watch is settled from that plan alone, through the same step
// executor (heal/steps.ts), so the mountpoint ends with exactly one mount:
//   1. the old mount is still there: nothing was unmounted; the loop heals it (rolled back);
//   2. it is gone and a new mount answers: the heal had finished;
//   3. it is gone and nothing (healthy) replaced it: the plan's remount step runs, with the same
//      checks as in the heal (the path, its parents' inodes, the mount identity);
//   4. two or more new mounts: all but the bottom one are lazily unmounted.
// The topology steps journaled with the plan are settled from the mount table (topology-resume.ts):
// children the heal set aside are re-attached under the healed mount, or put back where they were
// when the old mount answers again; the staging directories are removed.
// Nothing is ever killed: a process whose argv names the mountpoint is none of our business.
import path from 'node:path';
import type { Host } from '../host/types.js';
import type { JournalPlan } from '../mounts/heal/apply.js';
import { clearPlan } from '../mounts/heal/plan.js';
import { resolvePlanPrograms } from '../mounts/heal/prepare.js';
import { runPlan, runTopologySteps, type StepContext } from '../mounts/heal/steps.js';
import { validateTopology } from '../mounts/heal/topology-plan.js';
import {
  dropStageDirs,
  resumeSteps,
  rollbackSteps,
  topologyTouched,
  type JournalTopology,
} from '../mounts/heal/topology-resume.js';
import type { MountInfo } from '../mounts/mountinfo/parse.js';
import { mountKey, readMounts } from '../mounts/scan.js';
import type { Logger } from './logger.js';
import { mountsAt, pollUntil } from './mount-table.js';
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

// The journaled plan, when the entry holds one (entries written before plans were journaled do not).
export function journalPlan(x: unknown): JournalPlan | null {
  const j = x as Partial<JournalPlan> | null;
  return j !== null &&
    typeof j === 'object' &&
    (j.version === 2 || j.version === 3) &&
    Array.isArray(j.plan) &&
    Array.isArray(j.parents) &&
    Array.isArray(j.below) &&
    typeof j.target?.mountId === 'number'
    ? (j as JournalPlan)
    : null;
}

async function observedEntry(host: Host, j: JournalRow, log: Logger, opts: RecoveryOptions): Promise<RecoveryOutcome> {
  const mp = j.mountpoint;
  const plan = journalPlan(j.recipe);
  const before = await mountsAt(host, mp);
  const outcome = (result: RecoveryOutcome['result'], detail: string, after = before.length): RecoveryOutcome => ({
    mountpoint: mp,
    result,
    mountsBefore: before.length,
    mountsAfter: after,
    detail,
  });
  if (!plan) return outcome('left-to-loop', 'the journal entry holds no plan; the loop heals the mount');
  const t = plan.target;
  const topo = plan.topology ?? null;
  await host.mkdirp(path.join(host.stateDir, 'logs'), 0o700).catch(() => undefined);
  const ctx: StepContext = {
    host,
    force: plan.force,
    healId: plan.healId,
    origin: 'recovery',
    parents: plan.parents,
    below: plan.below,
    oldOptions: plan.oldOptions,
    pathTimeoutMs: opts.probeTimeoutMs,
    daemonStart: plan.daemonStart ?? null,
    ...(plan.identity ? { replaces: plan.identity } : {}),
    ...(topo ? { allowChildren: new Set(topo.detachWithParent) } : {}),
    // The remount leaves a daemon behind: its output goes to a file, never to a pipe of ours.
    outputFile: path.join(host.stateDir, 'logs', 'watch-remount.log'),
  };
  // Why the phase and not only the mount table: mount ids and FUSE connection numbers are handed
  // out lowest-free, so the remount often gets the old mount's id and device back.
  const unmounted = /^step:\d+:ok:(unmount|remount|restart-unit)/.test(j.phase);
  if (!unmounted && before.some((m) => m.id === t.mountId && `${m.major}:${m.minor}` === t.device)) {
    if (!topo || !topologyTouched(await readMounts(host), topo)) {
      return outcome('rolled-back', 'the old mount was never unmounted; the loop heals it');
    }
    return topologyBeforeUnmount(ctx, plan, topo, log, opts, outcome);
  }
  // A remount the old heal started may still be connecting (sshfs mounts, then answers): give it time.
  const healthyNow = async (): Promise<boolean> => (await probeTop(host, mp, opts)) === 'healthy';
  if (before.length === 0) await pollUntil(async () => (await mountsAt(host, mp)).length > 0, opts.settleMs, 100);
  let stack = await mountsAt(host, mp);
  if (stack.length >= 2) {
    const extra = clearPlan(stack.slice(1), {
      selfUid: host.uid(),
      programs: resolvePlanPrograms(),
      why: 'the interrupted heal left more than one mount: keep the bottom one',
    });
    await runPlan(ctx, extra);
    stack = await mountsAt(host, mp);
  }
  if (stack.length === 1) {
    if (await pollUntil(healthyNow, opts.settleMs, 200)) {
      const rest = await finishTopology(ctx, topo, stack[0]!);
      return outcome(
        rest.ok ? 'finished' : 'failed',
        `the interrupted heal had remounted it; validated by a probe${rest.detail}`,
        1,
      );
    }
    return outcome('left-to-loop', 'one mount that does not answer: the loop heals it', 1);
  }
  // Nothing at the mountpoint: run what is left of the plan, from its remount step.
  const from = plan.plan.findIndex((s) => s.action === 'remount' || s.action === 'restart-unit');
  if (from < 0) return outcome('failed', 'the journaled plan has no remount step', 0);
  log.info({ mountpoint: mp, step: from }, 'resuming the interrupted heal at its remount step');
  return remountAndFinish(ctx, plan, topo, from, opts, outcome);
}

type Outcome = (result: RecoveryOutcome['result'], detail: string, after?: number) => RecoveryOutcome;

// The interrupted heal had set children aside (or detached dead binds) but had not unmounted the
// dead mount yet. If the mount answers again, the children go back where they were; otherwise the
// journaled plan is finished from its first step: what is left of the topology steps before the
// unmount, the unmount and remount, and the steps after it.
async function topologyBeforeUnmount(
  ctx: StepContext,
  plan: JournalPlan,
  topo: JournalTopology,
  log: Logger,
  opts: RecoveryOptions,
  outcome: Outcome,
): Promise<RecoveryOutcome> {
  const { host } = ctx;
  const mp = plan.target.mountpoint;
  if ((await probeTop(host, mp, opts)) === 'healthy') {
    const undo = rollbackSteps(await readMounts(host), topo, resolvePlanPrograms());
    const r = await runTopologySteps(ctx, undo);
    await dropStageDirs(host, topo.stageDirs);
    return r.ok
      ? outcome('rolled-back', 'the old mount answers again: the child mounts set aside are back where they were')
      : outcome('failed', `the old mount answers again, but putting its child mounts back failed: ${r.problem}`);
  }
  log.info({ mountpoint: mp }, 'finishing the interrupted heal from its first step: its children are set aside');
  for (const d of topo.stageDirs) await host.mkdirp(d, 0o700);
  const pre = await resumeSteps({ ...ctx, deadRoot: mp }, topo.before, topo, null);
  if (!pre.ok) return outcome('failed', `setting the child mounts aside again failed: ${pre.problem}`);
  return remountAndFinish(ctx, plan, topo, 0, opts, outcome);
}

// Run the journaled plan from step `from`, then the topology steps after the remount.
async function remountAndFinish(
  ctx: StepContext,
  plan: JournalPlan,
  topo: JournalTopology | null,
  from: number,
  opts: RecoveryOptions,
  outcome: Outcome,
): Promise<RecoveryOutcome> {
  const { host } = ctx;
  const mp = plan.target.mountpoint;
  const run = await runPlan(ctx, plan.plan, from);
  const healthy = async (): Promise<boolean> => (await probeTop(host, mp, opts)) === 'healthy';
  if (run.failure === null && run.mount && (await pollUntil(healthy, 5000, 50))) {
    const rest = await finishTopology(ctx, topo, run.mount);
    return outcome(
      rest.ok ? 'remounted' : 'failed',
      `ran the journaled ${from === 0 ? 'plan' : 'remount step'}; validated by a probe${rest.detail}`,
      (await mountsAt(host, mp)).length,
    );
  }
  return outcome(
    'failed',
    run.failure ?? 'the remount ran but the mount does not answer',
    (await mountsAt(host, mp)).length,
  );
}

// The topology steps after the remount that the table does not show done (children re-attached
// from their staging copies, binds re-bound), then the staging directories removed.
async function finishTopology(
  ctx: StepContext,
  topo: JournalTopology | null,
  healed: MountInfo,
): Promise<{ ok: boolean; detail: string }> {
  if (!topo || (topo.after.length === 0 && topo.stageDirs.length === 0)) return { ok: true, detail: '' };
  const run = await resumeSteps(ctx, topo.after, topo, healed);
  await dropStageDirs(ctx.host, topo.stageDirs);
  const problems = validateTopology(await readMounts(ctx.host), healed, topo.expect);
  if (!run.ok) problems.unshift(`restoring its binds and children stopped: ${run.problem}`);
  return problems.length === 0
    ? { ok: true, detail: `; its binds and child mounts are back (${topo.expect.length})` }
    : { ok: false, detail: `; but ${problems.join('; ')}` };
}

async function probeTop(host: Host, mp: string, opts: RecoveryOptions): Promise<string | null> {
  const top = (await mountsAt(host, mp)).at(-1);
  if (!top) return null;
  const [r] = await host.probe([{ key: mountKey(top), path: mp }], { timeoutMs: opts.probeTimeoutMs, concurrency: 1 });
  return r?.state ?? null;
}
