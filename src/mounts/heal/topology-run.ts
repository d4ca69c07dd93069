// Runs the topology steps of a heal (topology-plan.ts) one by one. Before each, the mount it names is
// re-read from mountinfo (DESIGN §6) and, after the remount, the healed mount must still be the one
// on top of its path; otherwise the step does not run. Until the steps of one heal are folded into the
// single step executor, this is the only place they run.
import path from 'node:path';
import type { Host } from '../../host/types.js';
import { KNOWN_DAEMONS } from '../backends/index.js';
import type { PlanStep } from '../diagnosis.js';
import { checkIdentity, readMountTable, type MountIdentity } from '../mountinfo/identity.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { childrenOf, sameSuperblock } from '../mountinfo/topology.js';
import { findFuseDaemonProof, readProcessTable } from '../process-table.js';
import { runAsArgv } from './plan.js';
import { DEFAULT_PATH, detachArgv, recipeFromProcess } from './recipes.js';
import type { ChildRemount } from './topology-plan.js';

export interface TopologyStepResult {
  step: PlanStep;
  ok: boolean;
  skipped: boolean;
  code: number | null;
  output: string;
  durationMs: number;
}

export interface TopologyRun {
  ok: boolean;
  results: TopologyStepResult[];
  problem: string | null; // why the run stopped
}

// Run `steps` in order; stop at the first that fails or whose mount is no longer what it was.
export async function runTopologySteps(
  host: Host,
  steps: readonly PlanStep[],
  healed: MountIdentity | null,
  dirs: readonly string[] = [],
  envs: ReadonlyMap<PlanStep, Record<string, string>> = new Map(),
): Promise<TopologyRun> {
  const results: TopologyStepResult[] = [];
  // Staging directories: root's own, under its run directory, private (0700).
  for (const d of dirs) await host.mkdirp(d, 0o700);
  for (const step of steps) {
    const t0 = performance.now();
    const mounts = await readMountTable(host);
    const checks = [
      ...(step.mount ? [checkIdentity(mounts, step.mount)] : []),
      ...(healed ? [checkIdentity(mounts, healed)] : []),
    ];
    const bad = checks.find((c) => !c.ok);
    if (bad && !bad.ok) {
      results.push({ step, ok: false, skipped: true, code: null, output: `not run: ${bad.reason}`, durationMs: 0 });
      return { ok: false, results, problem: bad.reason };
    }
    const own = envs.get(step);
    // A child's remount leaves a daemon behind: its output goes to a log file, so it holds no pipe of ours.
    const outputFile = own ? await logFile(host, step) : undefined;
    const r = await host.exec(step.argv ?? [], {
      timeoutMs: step.timeoutMs ?? 10_000,
      env: { PATH: DEFAULT_PATH, ...(own ?? {}) },
      ...(outputFile !== undefined ? { outputFile, cwd: '/' } : {}),
    });
    const output =
      `${r.stderr}${r.stdout}`.trim().slice(-500) || (r.spawnError ? `could not start: ${r.spawnError}` : '');
    const ok = r.code === 0;
    results.push({ step, ok, skipped: false, code: r.code, output, durationMs: Math.round(performance.now() - t0) });
    if (!ok)
      return { ok: false, results, problem: `${(step.argv ?? []).join(' ')} failed: ${output || `exit ${r.code}`}` };
  }
  return { ok: true, results, problem: null };
}

// The steps that undo the children staging among `done` (before-unmount steps that succeeded), in
// reverse: a detached child is attached again from its staging copy, and the copy is dropped.
export function undoStaging(done: readonly PlanStep[]): PlanStep[] {
  const undo: PlanStep[] = [];
  const stageOf = new Map<string, string>();
  for (const s of done) {
    const a = s.argv ?? [];
    if (a[0] === 'mount' && a[1] === '--rbind') stageOf.set(a[3]!, a[4]!);
  }
  for (const s of [...done].reverse()) {
    const a = s.argv ?? [];
    if (a[0] === 'umount' && stageOf.has(a[3]!)) {
      undo.push({
        action: 'remount',
        argv: ['mount', '--rbind', '--no-canonicalize', stageOf.get(a[3]!)!, a[3]!],
        timeoutMs: 10_000,
        risk: 'safe',
        why: `put the child ${a[3]} back where it was`,
      });
    } else if (a[0] === 'mount' && a[1] === '--rbind') {
      undo.push({
        action: 'unmount-lazy',
        argv: ['umount', '-l', '--no-canonicalize', a[4]!],
        timeoutMs: 10_000,
        risk: 'safe',
        why: `drop the staging copy ${a[4]}`,
      });
    }
  }
  return undo;
}

async function logFile(host: Host, step: PlanStep): Promise<string | undefined> {
  try {
    const dir = path.join(host.stateDir, 'logs');
    await host.mkdirp(dir, 0o700);
    return path.join(dir, `child-remount-${step.mount?.id ?? 'x'}-${process.pid}.log`);
  } catch {
    return undefined;
  }
}

// The environment a child's remount may take from its daemon: where to find its keys and agent,
// never the program search path or the loader's (PATH, LD_*): those stay root's fixed ones.
const CHILD_ENV = ['HOME', 'USER', 'LOGNAME', 'SSH_AUTH_SOCK', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'RCLONE_CONFIG'];

// For each FUSE child of `target` (other filesystems), its remount from the live daemon that holds its
// connection (proof by fdinfo only), run as that daemon's user. Children without one are left out.
export async function childRemounts(
  host: Host,
  mounts: readonly MountInfo[],
  target: MountInfo,
  selfUid: number,
): Promise<ChildRemount[]> {
  const kids = childrenOf(mounts, target).filter(
    (c) => !sameSuperblock(c, target) && (c.type === 'fuse' || c.type === 'fuseblk'),
  );
  if (kids.length === 0) return [];
  const table = await readProcessTable(host);
  const out: ChildRemount[] = [];
  for (const child of kids) {
    const found = await findFuseDaemonProof(host, child, table, KNOWN_DAEMONS);
    if (!found || found.proof !== 'fdinfo') continue;
    const got = await recipeFromProcess(host, child, found.process.pid);
    if (!got || got.recipe.movedFrom !== undefined) continue;
    const recipe = got.recipe;
    const env: Record<string, string> = {};
    for (const k of CHILD_ENV) if (recipe.env[k] !== undefined) env[k] = recipe.env[k];
    out.push({
      child,
      env,
      step: {
        action: 'remount',
        argv: runAsArgv(detachArgv(recipe.argv), recipe, selfUid),
        runAs: recipe.uid,
        timeoutMs: 30_000,
        risk: 'safe',
        why: `mount the child ${child.mountpoint} again with the argv of its live daemon (pid ${found.process.pid}, which holds its FUSE connection), as uid ${recipe.uid}`,
        phase: 'after-remount',
      },
    });
  }
  return out;
}
