// Finishing or rolling back a heal's topology steps after a crash (watch's journal recovery). The
// journal holds the topology plan (topology-plan.ts) next to the main plan; what was done of it is
// read back from the mount table, never from a progress counter: a step cut short by kill -9 may
// or may not have happened, and only the table knows. Each pending step then runs through the one
// executor, with every check it has in a heal.
//   - children set aside: a copy under the staging directory, and the child gone from its path;
//   - re-attach (after the remount): the copy bound back onto the child's path, the copy dropped;
//   - roll back (the dead mount turned healthy meanwhile): the copy bound back where it was.
import path from 'node:path';
import type { Host } from '../../host/types.js';
import type { PlanStep } from '../diagnosis.js';
import { identityOf, sameIdentity, topAt } from '../mountinfo/identity.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { readMounts } from '../scan.js';
import { runTopologySteps, type StepContext, type TopologyRun } from './steps.js';
import type { TopologyExpectation, TopologyPlan } from './topology-plan.js';
import { undoStaging } from './topology-plan.js';
import type { PlanPrograms } from './plan.js';

// The topology part of a journaled heal (JournalPlan.topology).
export interface JournalTopology {
  before: PlanStep[];
  after: PlanStep[];
  expect: TopologyExpectation[];
  stageDirs: string[];
  detachWithParent: number[]; // children the lazy unmount may take along (mounted again afterwards)
}

// The journal's copy of a topology plan.
export function journalTopology(t: TopologyPlan): JournalTopology {
  return {
    before: t.before,
    after: t.after,
    expect: t.expect,
    stageDirs: t.stageDirs,
    detachWithParent: [...t.detachWithParent],
  };
}

// A child set aside by `mount --rbind CHILD STAGE`, as the before steps name it.
interface Staging {
  child: string;
  stage: string;
  device: string;
}

function base(argv: readonly string[]): string {
  return path.basename(argv[0] ?? '');
}

function stagings(t: JournalTopology): Staging[] {
  return t.before.flatMap((s) => {
    const a = s.argv ?? [];
    return base(a) === 'mount' && a.includes('--rbind') && s.mount
      ? [{ child: a.at(-2)!, stage: a.at(-1)!, device: `${s.mount.major}:${s.mount.minor}` }]
      : [];
  });
}

const dev = (m: Pick<MountInfo, 'major' | 'minor'>): string => `${m.major}:${m.minor}`;

// Is `m` one of the mounts the topology steps detach (a dead bind, a child set aside)?
function wasDetached(m: MountInfo, t: JournalTopology): boolean {
  return [...t.before, ...t.after].some(
    (s) => s.mount !== undefined && base(s.argv ?? []) === 'umount' && sameIdentity(identityOf(m), s.mount),
  );
}

// Did the interrupted heal change anything of the topology before its unmount (a child copied
// aside or detached, a dead bind detached)? Pure, on a table already read.
export function topologyTouched(mounts: readonly MountInfo[], t: JournalTopology): boolean {
  return t.before.some((s) => stepDone(mounts, s, t, null));
}

// Is `step` already done, as the mount table shows it? `healed`: the healed mount, once there.
// Pure. A step whose work cannot be done any more (the staging copy it would bind is gone) counts as
// done too: running it would bind an empty directory in the child's place.
export function stepDone(
  mounts: readonly MountInfo[],
  step: PlanStep,
  t: JournalTopology,
  healed: MountInfo | null,
): boolean {
  const a = step.argv ?? [];
  const prog = base(a);
  const last = a.at(-1) ?? '';
  const top = topAt(mounts, last);
  if (prog === 'umount') {
    // A mount it names by identity is gone from everywhere; a staging copy is gone from its path.
    return step.mount
      ? !mounts.some((m) => sameIdentity(identityOf(m), step.mount!))
      : !mounts.some((m) => m.mountpoint === last);
  }
  if (prog === 'mount' && a.includes('--rbind')) {
    const src = a.at(-2)!;
    const child = step.mount;
    if (child) return mounts.some((m) => m.mountpoint === last && dev(m) === dev(child));
    const staged = stagings(t).find((s) => s.stage === src);
    if (!staged || !mounts.some((m) => m.mountpoint === src)) return true;
    return top !== null && dev(top) === staged.device;
  }
  // A bind of the healed mount, and not the dead bind it replaces (the device may well be the same).
  const freshBind = top !== null && healed !== null && dev(top) === dev(healed) && !wasDetached(top, t);
  if (prog === 'mount' && a.includes('--bind')) {
    const want = t.expect.find((e) => e.kind === 'bind' && e.mountpoint === last);
    return freshBind && top.root === (want?.root ?? top.root);
  }
  if (prog === 'mount' && a[1] === '-o' && (a[2] ?? '').startsWith('remount,bind')) {
    const opts = (a[2] ?? '').split(',').slice(2);
    return freshBind && opts.every((o) => top.options.includes(o));
  }
  if (step.runAs !== undefined) {
    // A child mounted again from its own daemon's argv: that filesystem is on its path, under the healed mount.
    const e = t.expect.find((x) => x.kind === 'child' && x.fstype !== undefined && a.includes(x.mountpoint));
    if (!e) return false;
    const on = topAt(mounts, e.mountpoint);
    return on !== null && on.fstype === e.fstype && on.source === e.source && on.parentId === healed?.id;
  }
  return false;
}

// Run the steps of `steps` the table does not show done yet, in order, through the executor; stop
// at the first that fails or is refused. The table is read again before each step.
export async function resumeSteps(
  ctx: StepContext,
  steps: readonly PlanStep[],
  t: JournalTopology,
  healed: MountInfo | null,
): Promise<TopologyRun> {
  return runTopologySteps(ctx, steps, {
    ...(healed ? { healed: identityOf(healed) } : {}),
    done: async (step) => stepDone(await readMounts(ctx.host), step, t, healed),
  });
}

// The steps that put the children set aside back where they were, from what the table shows done.
export function rollbackSteps(
  mounts: readonly MountInfo[],
  t: JournalTopology,
  programs: Pick<PlanPrograms, 'mount' | 'umount'>,
): PlanStep[] {
  return undoStaging(
    t.before.filter((s) => stepDone(mounts, s, t, null)),
    programs,
  );
}

// Remove a heal's staging directories once nothing is mounted on them (rmdir: a directory that is
// still a mountpoint, or not empty, stays), then their parent.
export async function dropStageDirs(host: Host, dirs: readonly string[]): Promise<void> {
  const parents = new Set<string>();
  for (const d of dirs) {
    parents.add(path.dirname(d));
    await host.removeDir(d).catch(() => undefined);
  }
  for (const p of parents) await host.removeDir(p).catch(() => undefined);
}
