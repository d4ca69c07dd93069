// What the mount table's shape asks of a heal (DESIGN §6), as plain data: which mount to remount,
// the steps before its unmount and after its remount, and what heal must refuse before acting.
// - Binds of one superblock: every other bind is re-bound from the new mount with its own root (a
//   bind of /sub from <new>/sub); a bind whose root was deleted is never re-bound, it is left as is.
// - Child mounts of other filesystems: bound aside (rbind, so their own children come along) and
//   detached before the unmount, re-attached from there after the remount. The lazy unmount then has
//   no child to drop.
// - Stacked mounts: path-based unmounts act on the top one; a dead mount hidden under a healthy one
//   cannot be reached without unmounting the healthy one, so heal leaves both alone and says so.
import path from 'node:path';
import type { PlanStep } from '../diagnosis.js';
import { DEFAULT_PROGRAMS, type PlanPrograms } from './plan.js';
import { identityOf, topAt } from '../mountinfo/identity.js';
import type { MountInfo } from '../mountinfo/parse.js';
import {
  bindSourcePath,
  childrenOf,
  primaryBind,
  refOf,
  sameSuperblock,
  type MountRef,
} from '../mountinfo/topology.js';

// A bind or child heal restores, and what it must look like afterwards (checked by validateTopology).
export interface TopologyExpectation {
  kind: 'bind' | 'child';
  mountpoint: string;
  root: string; // the root it must show again
  device: string | null; // a child keeps its device; a bind takes the new mount's (null: not known yet)
  options: string[]; // per-mount options it must keep (ro, nosuid, nodev, noexec...)
  fstype?: string; // a child mounted again: the same filesystem type and source
  source?: string;
}

export interface TopologyPlan {
  target: MountInfo; // the mount heal unmounts and remounts
  before: PlanStep[]; // run just before the target's first unmount step
  after: PlanStep[]; // run once the target is back (validated by its probe)
  expect: TopologyExpectation[];
  leftDead: Array<{ mount: MountRef; reason: string }>; // binds heal cannot restore, left untouched
  refusal: { rule: 'topology'; message: string } | null;
  notes: string[];
  stageDirs: string[]; // directories the before-steps bind into (the executor creates and removes them)
  // Children the lazy unmount may take along because the after-steps mount them again from their own
  // daemons' recipes (when they cannot be set aside): their ids.
  detachWithParent: Set<number>;
}

// A child mount's own remount (its live daemon's argv, as its owner), for remountChildren.
export interface ChildRemount {
  child: MountInfo;
  step: PlanStep;
}

// The plan with its children mounted again from their daemons' recipes instead of set aside: for
// when the path to them cannot be walked any more (every lookup through a dead FUSE parent fails
// with ENOTCONN once its dentries expire). The old child instance stays with the processes that
// use it, and its daemon exits when they let go. Null unless every such child has a remount.
export function remountChildren(plan: TopologyPlan, remounts: readonly ChildRemount[]): TopologyPlan | null {
  const childPaths = new Set(plan.expect.filter((e) => e.kind === 'child').map((e) => e.mountpoint));
  if (childPaths.size === 0 || remounts.length !== childPaths.size) return null;
  if (!remounts.every((r) => childPaths.has(r.child.mountpoint))) return null;
  const isStaging = (s: PlanStep): boolean => plan.stageDirs.some((d) => (s.argv ?? []).includes(d));
  return {
    ...plan,
    before: plan.before.filter((s) => !isStaging(s) && !remounts.some((r) => r.child.id === s.mount?.id)),
    after: [...remounts.map((r) => r.step), ...plan.after.filter((s) => !isStaging(s))],
    expect: [
      ...plan.expect.filter((e) => e.kind !== 'child'),
      ...remounts.map((r) => ({
        kind: 'child' as const,
        mountpoint: r.child.mountpoint,
        root: r.child.root,
        device: null,
        fstype: r.child.fstype,
        source: r.child.source,
        options: r.child.options,
      })),
    ],
    stageDirs: [],
    detachWithParent: new Set(remounts.map((r) => r.child.id)),
    notes: [
      ...plan.notes,
      ...remounts.map(
        (r) =>
          `the child ${r.child.mountpoint} could not be set aside (its path crosses the dead mount); it is mounted again from its own daemon's argv after the heal, and its old instance stays with the processes using it`,
      ),
    ],
  };
}

const TIMEOUT_MS = 10_000;

// The security options among a mount's options, as a bind step's mountAttrs (none: no field).
function attrsOf(options: readonly string[]): Pick<PlanStep, 'mountAttrs'> {
  const own = (['ro', 'nosuid', 'nodev', 'noexec'] as const).filter((o) => options.includes(o));
  return own.length > 0 ? { mountAttrs: [...own] } : {};
}

function stepMount(m: MountInfo): NonNullable<PlanStep['mount']> {
  const i = identityOf(m);
  return { id: i.id, parentId: i.parentId, major: i.major, minor: i.minor, root: i.root, mountpoint: i.mountpoint };
}

// The mount heal should act on when asked to heal `m`: the bind of its superblock that shows the
// whole filesystem (a remount re-creates the filesystem's root, never a subtree in place), or a
// refusal when there is none, or when that bind is hidden under another mount.
export function healTarget(
  mounts: readonly MountInfo[],
  m: MountInfo,
): { target: MountInfo; note: string | null } | { refusal: string } {
  const primary = primaryBind(mounts, m);
  if (m.root === '/' && !m.deleted) {
    // Every bind of one filesystem names the same target (the first mount that shows its root), so
    // heals asked for by any of them remount it once and re-bind the others.
    if (!primary || primary.id === m.id || topAt(mounts, primary.mountpoint) !== primary)
      return { target: m, note: null };
    return {
      target: primary,
      note: `${m.mountpoint} is a bind of the same filesystem as ${primary.mountpoint}: heal remounts it there and re-binds ${m.mountpoint} from it`,
    };
  }
  if (!primary) {
    return {
      refusal: `refusing to heal ${m.mountpoint}: it is a bind of ${m.root}${m.deleted ? ' (deleted)' : ''} within ${m.source}, and no mount of that filesystem shows its root; a remount would put the whole source where a subtree was. Remount the filesystem elsewhere and bind ${m.root} from it`,
    };
  }
  if (topAt(mounts, primary.mountpoint) !== primary) {
    return {
      refusal: `refusing to heal ${m.mountpoint}: the whole-filesystem mount of ${m.source} on ${primary.mountpoint} is hidden under another mount, so it cannot be unmounted by path`,
    };
  }
  return {
    target: primary,
    note: `${m.mountpoint} is a bind of ${m.root} within ${m.source}: heal remounts the filesystem on ${primary.mountpoint} and re-binds ${m.mountpoint} from it`,
  };
}

// The topology steps and refusals for healing `target` (already chosen by healTarget). `stageRoot`
// is a root-owned directory where children are kept while their parent is remounted.
export function planTopology(
  mounts: readonly MountInfo[],
  target: MountInfo,
  opts: { stageRoot: string; programs?: Pick<PlanPrograms, 'mount' | 'umount'> },
): TopologyPlan {
  const { mount, umount } = opts.programs ?? DEFAULT_PROGRAMS;
  const plan: TopologyPlan = {
    target,
    before: [],
    after: [],
    expect: [],
    leftDead: [],
    refusal: null,
    notes: [],
    stageDirs: [],
    detachWithParent: new Set(),
  };
  const refuse = (message: string): TopologyPlan => ({
    ...plan,
    before: [],
    after: [],
    refusal: { rule: 'topology', message },
  });

  // A mount stacked on top of the target hides it: a path-based unmount would act on that one.
  const over = mounts.find((x) => x.parentId === target.id && x.mountpoint === target.mountpoint);
  if (over) {
    return refuse(
      `refusing to heal ${target.mountpoint}: mount ${target.id} (${target.source}) is hidden under mount ${over.id} (${over.fstype} ${over.source}) on the same path; unmounting by path would act on the upper one. Unmount mount ${over.id} first if it is not needed`,
    );
  }

  const binds = mounts.filter((x) => x.id !== target.id && sameSuperblock(x, target));
  const bindIds = new Set(binds.map((b) => b.id));
  const children = childrenOf(mounts, target);

  // Children of other filesystems: bind aside, detach; re-attach after the remount.
  children
    .filter((c) => !bindIds.has(c.id))
    .forEach((c, i) => {
      if (!c.mountpoint.startsWith(`${target.mountpoint === '/' ? '' : target.mountpoint}/`)) return;
      const stage = path.join(opts.stageRoot, `child-${i}`);
      plan.stageDirs.push(stage);
      plan.before.push(
        {
          action: 'remount',
          argv: [mount, '--rbind', '--no-canonicalize', c.mountpoint, stage],
          timeoutMs: TIMEOUT_MS,
          risk: 'safe',
          why: `keep the child mount ${c.mountpoint} (mount ${c.id}, ${c.fstype} ${c.source}) while its parent is remounted: bind it, with its own children, to ${stage}`,
          mount: stepMount(c),
          phase: 'before-unmount',
        },
        {
          action: 'unmount-lazy',
          argv: [umount, '--no-canonicalize', '-l', '--', c.mountpoint],
          timeoutMs: TIMEOUT_MS,
          risk: 'safe',
          why: `detach ${c.mountpoint} from the dead parent; its filesystem stays mounted at ${stage}, and processes using it keep it`,
          mount: stepMount(c),
          phase: 'before-unmount',
        },
      );
      plan.after.push(
        {
          action: 'remount',
          argv: [mount, '--rbind', '--no-canonicalize', stage, c.mountpoint],
          timeoutMs: TIMEOUT_MS,
          risk: 'safe',
          why: `re-attach the child mount ${c.mountpoint} (${c.fstype} ${c.source}, root ${c.root}) under the healed mount`,
          phase: 'after-remount',
          ...attrsOf(c.options),
        },
        {
          action: 'unmount-lazy',
          argv: [umount, '--no-canonicalize', '-l', '--', stage],
          timeoutMs: TIMEOUT_MS,
          risk: 'safe',
          why: `drop the staging copy ${stage}; the child stays attached on ${c.mountpoint}`,
          phase: 'after-remount',
        },
      );
      plan.expect.push({
        kind: 'child',
        mountpoint: c.mountpoint,
        root: c.root,
        device: `${c.major}:${c.minor}`,
        options: c.options,
      });
    });

  // Other binds of the superblock: each from the new mount, with its own root.
  for (const b of binds) {
    if (b.deleted) {
      plan.leftDead.push({
        mount: refOf(b),
        reason: `its root ${b.root} was deleted from the filesystem; re-binding ${b.root} from the new mount would show another directory (or none), so it is left as it is`,
      });
      continue;
    }
    const src = bindSourcePath(target, b);
    if (src === null) {
      plan.leftDead.push({
        mount: refOf(b),
        reason: `its root ${b.root} is outside the root ${target.root} of ${target.mountpoint}`,
      });
      continue;
    }
    const grandchildren = childrenOf(mounts, b).filter((x) => !bindIds.has(x.id) && x.id !== target.id);
    if (grandchildren.length > 0) {
      return refuse(
        `refusing to heal ${target.mountpoint}: the bind ${b.mountpoint} of the same filesystem has mounts of its own (${grandchildren.map((g) => g.mountpoint).join(', ')}), which re-binding it would drop; nothing was changed`,
      );
    }
    const isChild = b.parentId === target.id;
    const unmount: PlanStep = {
      action: 'unmount-lazy',
      argv: [umount, '--no-canonicalize', '-l', '--', b.mountpoint],
      timeoutMs: TIMEOUT_MS,
      risk: 'safe',
      why: `detach the dead bind ${b.mountpoint} (mount ${b.id}, root ${b.root}) of the same filesystem`,
      mount: stepMount(b),
      phase: isChild ? 'before-unmount' : 'after-remount',
    };
    (isChild ? plan.before : plan.after).push(unmount);
    plan.after.push({
      action: 'remount',
      argv: [mount, '--bind', '--no-canonicalize', src, b.mountpoint],
      timeoutMs: TIMEOUT_MS,
      risk: 'safe',
      why: `re-bind ${b.mountpoint} from ${src}: root ${b.root} of the new mount, as before`,
      phase: 'after-remount',
      ...attrsOf(b.options),
    });
    if (!b.options.includes('ro') && target.options.includes('ro')) {
      plan.notes.push(`${b.mountpoint} was read-write under a read-only ${target.mountpoint}; a bind inherits ro`);
    }
    plan.expect.push({ kind: 'bind', mountpoint: b.mountpoint, root: b.root, device: null, options: b.options });
    // Options a bind had and the new mount lacks are set again on the bind.
    const extra = ['ro', 'nosuid', 'nodev', 'noexec'].filter(
      (o) => b.options.includes(o) && !target.options.includes(o),
    );
    if (extra.length > 0) {
      // All of the bind's security options, not only the missing ones: a bind remount sets the
      // per-mount flags it is given (mount(2), MS_REMOUNT | MS_BIND).
      const own = ['ro', 'nosuid', 'nodev', 'noexec'].filter((o) => b.options.includes(o));
      plan.after.push({
        action: 'remount',
        argv: [mount, '-o', `remount,bind,${own.join(',')}`, '--no-canonicalize', b.mountpoint],
        timeoutMs: TIMEOUT_MS,
        risk: 'safe',
        why: `give the bind ${b.mountpoint} back its own options (${extra.join(', ')})`,
        phase: 'after-remount',
      });
    }
  }
  for (const d of plan.leftDead) {
    plan.notes.push(`the bind ${d.mount.mountpoint} (mount ${d.mount.id}) is not restored: ${d.reason}`);
  }
  return plan;
}

// The checks after a heal: every restored bind and child is mounted again, with its own root, the
// right filesystem and its options. Returns one line per problem ([] when all hold).
export function validateTopology(
  mounts: readonly MountInfo[],
  healed: MountInfo,
  expect: readonly TopologyExpectation[],
): string[] {
  const problems: string[] = [];
  for (const e of expect) {
    const m = topAt(mounts, e.mountpoint);
    const device = e.device ?? `${healed.major}:${healed.minor}`;
    if (!m) {
      problems.push(`${e.kind} ${e.mountpoint} is not mounted`);
      continue;
    }
    if (e.fstype !== undefined) {
      // Mounted again from its recipe: a new device, the same filesystem and source, under the healed mount.
      if (m.fstype !== e.fstype || m.source !== e.source) {
        problems.push(`child ${e.mountpoint} is ${m.fstype} ${m.source}, not ${e.fstype} ${e.source}`);
      }
      if (m.parentId !== healed.id) problems.push(`child ${e.mountpoint} is not attached under the healed mount`);
    } else if (`${m.major}:${m.minor}` !== device) {
      problems.push(`${e.kind} ${e.mountpoint} is on device ${m.major}:${m.minor}, not ${device}`);
    }
    if (m.root !== e.root) problems.push(`${e.kind} ${e.mountpoint} shows root ${m.root}, not ${e.root}`);
    const lost = ['ro', 'nosuid', 'nodev', 'noexec'].filter((o) => e.options.includes(o) && !m.options.includes(o));
    if (lost.length > 0) problems.push(`${e.kind} ${e.mountpoint} lost ${lost.join(', ')}`);
  }
  return problems;
}

// The steps that undo the children staging among `done` (before-unmount steps that succeeded), in
// reverse: a detached child is attached again from its staging copy, and the copy is dropped.
export function undoStaging(
  done: readonly PlanStep[],
  programs: Pick<PlanPrograms, 'mount' | 'umount'> = DEFAULT_PROGRAMS,
): PlanStep[] {
  const undo: PlanStep[] = [];
  const stageOf = new Map<string, string>();
  const isRbind = (a: readonly string[]): boolean => path.basename(a[0] ?? '') === 'mount' && a[1] === '--rbind';
  const isUmount = (a: readonly string[]): boolean => path.basename(a[0] ?? '') === 'umount';
  for (const s of done) {
    const a = s.argv ?? [];
    if (isRbind(a)) stageOf.set(a[3]!, a[4]!);
  }
  for (const s of [...done].reverse()) {
    const a = s.argv ?? [];
    const mp = a.at(-1)!;
    if (isUmount(a) && stageOf.has(mp)) {
      undo.push({
        action: 'remount',
        argv: [programs.mount, '--rbind', '--no-canonicalize', stageOf.get(mp)!, mp],
        timeoutMs: TIMEOUT_MS,
        risk: 'safe',
        why: `put the child ${mp} back where it was`,
        phase: 'before-unmount',
      });
    } else if (isRbind(a)) {
      undo.push({
        action: 'unmount-lazy',
        argv: [programs.umount, '--no-canonicalize', '-l', '--', a[4]!],
        timeoutMs: TIMEOUT_MS,
        risk: 'safe',
        why: `drop the staging copy ${a[4]}`,
        phase: 'before-unmount',
      });
    }
  }
  return undo;
}
