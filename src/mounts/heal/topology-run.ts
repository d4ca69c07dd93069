// Runs the topology steps of a heal (topology-plan.ts) one by one. Before each, the mount it names is
// re-read from mountinfo (DESIGN §6) and, after the remount, the healed mount must still be the one
// on top of its path; otherwise the step does not run. Until the steps of one heal are folded into the
// single step executor, this is the only place they run.
import type { Host } from '../../host/types.js';
import type { PlanStep } from '../diagnosis.js';
import { checkIdentity, readMountTable, type MountIdentity } from '../mountinfo/identity.js';
import { DEFAULT_PATH } from './recipes.js';

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
    const r = await host.exec(step.argv ?? [], { timeoutMs: step.timeoutMs ?? 10_000, env: { PATH: DEFAULT_PATH } });
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
