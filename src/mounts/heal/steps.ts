// THE step executor: every PlanStep that changes a mount, whoever planned it (heal, watch's
// observed heals, the supervisor's clear and restart, crash recovery), runs here, one function per
// action, audited as it ends. Before acting, each function re-reads the mount's identity from
// mountinfo and re-checks the path; it refuses a step marked requiresForce without --force.
import { launchRemount, launchSupervised } from '../../host/daemon-launch.js';
import { failpointAfterStep } from '../../host/failpoint.js';
import { readProcStat } from '../../host/proc.js';
import { FIXED_ENV } from '../../host/programs.js';
import type { Host, SpawnedProcess } from '../../host/types.js';
import type { PlanAction, PlanStep } from '../diagnosis.js';
import { checkIdentity, findReplacement, topAt, type MountIdentity } from '../mountinfo/identity.js';
import { parseMountinfo, type MountInfo } from '../mountinfo/parse.js';
import { mntnsInode } from '../evidence/namespaces.js';
import { fuseConnectionOf } from '../process-table.js';
import { readMounts } from '../scan.js';
import { appendAudit } from './audit.js';
import { checkPath, verifyPath, type DirIdentity } from './path-check.js';
import { SECURITY_OPTIONS } from './plan.js';

// What every step needs besides itself.
export interface StepContext {
  host: Host;
  force: boolean;
  healId: string; // ties the audit lines of one heal together
  origin: 'heal' | 'watch' | 'supervisor' | 'recovery';
  // The mountpoint's parent directories as recorded before the first step (null: not recorded).
  parents: DirIdentity[] | null;
  // The daemon's start time (clock ticks) when the plan was made: a reused pid is never signalled.
  daemonStart?: number | null;
  // Mounts at the mountpoint beneath the target when the plan was made: a remount stacks on none
  // but these (anything else there now was mounted by someone else meanwhile).
  below?: readonly number[];
  // The options of the mount being replaced: the new mount must keep SECURITY_OPTIONS among them.
  oldOptions?: readonly string[];
  outputFile?: string; // where a remount's output goes (it may leave a daemon holding it)
  pathTimeoutMs?: number; // deadline of each path check (default 2 s)
  mountAppearMs?: number; // how long to wait for a new mount after a remount (default 5 s)
  // Journal progress: called after each step, before the next one starts.
  onStep?: (index: number, result: StepResult) => void | Promise<void>;
  // supervisor: the remount starts the daemon in the foreground and hands back the process.
  onSpawn?: (p: SpawnedProcess) => void;
  spawnOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
  // Children a lazy unmount may take along: the plan mounts them again from their own daemons'
  // recipes afterwards (topology-plan.ts remountChildren). Any other child stops the lazy unmount.
  allowChildren?: ReadonlySet<number>;
  // The healed mount, once there: every after-remount topology step re-verifies it first.
  healed?: MountIdentity;
  // The mount a remount replaces: its replacement is the new mount on top of the path with the same
  // parent (with stacked mounts, the layer underneath is on that path all along).
  replaces?: MountIdentity;
  // The dead mount's mountpoint: before it is unmounted, path checks of topology steps do not look
  // inside it (every lookup there fails; its tree cannot change while its daemon is gone).
  deadRoot?: string;
}

export interface StepResult {
  step: PlanStep;
  ok: boolean;
  skipped: boolean; // not needed any more (the mount is already gone)
  refused?: string; // not run: a safety check failed
  code: number | null;
  output: string;
  durationMs: number;
  mount?: MountInfo; // remount / restart-unit: the new mount
}

type Outcome = Omit<StepResult, 'step' | 'durationMs'>;
type StepFn = (ctx: StepContext, step: PlanStep) => Promise<Outcome>;

const ok = (output: string, code: number | null = 0): Outcome => ({ ok: true, skipped: false, code, output });
const refuse = (why: string): Outcome => ({ ok: false, skipped: true, refused: why, code: null, output: why });
const skip = (why: string): Outcome => ({ ok: true, skipped: true, code: null, output: why });

function sameMount(a: Pick<MountInfo, 'id' | 'major' | 'minor'>, t: NonNullable<PlanStep['target']>): boolean {
  return a.id === t.mountId && `${a.major}:${a.minor}` === t.device;
}

// Where the target mount stands now: on top of its mountpoint, present under another, or gone.
async function locate(host: Host, t: NonNullable<PlanStep['target']>): Promise<'top' | 'covered' | 'gone' | 'moved'> {
  const mounts = await readMounts(host);
  const mine = mounts.find((m) => sameMount(m, t));
  if (!mine) return 'gone';
  if (mine.mountpoint !== t.mountpoint) return 'moved';
  const top = mounts.filter((m) => m.mountpoint === t.mountpoint).at(-1);
  return top && sameMount(top, t) ? 'top' : 'covered';
}

function tail(r: { stdout: string; stderr: string; timedOut: boolean; spawnError: string | null }): string {
  const text = `${r.stderr}${r.stdout}`.trim();
  const t = text.length > 500 ? `...${text.slice(-500)}` : text;
  if (r.timedOut) return `timed out${t ? `: ${t}` : ''}`;
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  return t;
}

// The parents of the mountpoint are still the directories recorded, with no symlink among them.
async function parentsUnchanged(ctx: StepContext, mp: string): Promise<string | null> {
  const c = await verifyPath(ctx.host, mp, ctx.parents, {
    includeLast: false,
    timeoutMs: ctx.pathTimeoutMs ?? 2000,
  });
  return c.ok ? null : c.detail;
}

// Write 1 to /sys/fs/fuse/connections/N/abort of the target's own connection, then stop its daemon.
async function abortConnection(ctx: StepContext, step: PlanStep): Promise<Outcome> {
  const t = step.target;
  if (!t || !step.write) return refuse('the step names no mount or file to write');
  const where = await locate(ctx.host, t);
  if (where === 'gone') return skip('the mount is already gone from the mount table');
  if (where === 'moved') return refuse(`mount ${t.mountId} is no longer at ${t.mountpoint}`);
  // The connection is the superblock's dev_t (fuseConnectionOf): the minor for FUSE's anonymous
  // devices, major << 20 | minor for fuseblk.
  const [major, minorNo] = t.device.split(':').map(Number);
  const conn = String(fuseConnectionOf({ major: major!, minor: minorNo! }));
  if (step.write.path !== `/sys/fs/fuse/connections/${conn}/abort` || step.write.data !== '1') {
    return refuse(`${step.write.path} is not the abort file of connection ${conn}`);
  }
  const out: string[] = [];
  let good = true;
  try {
    await ctx.host.writeText(ctx.host.sys('fs', 'fuse', 'connections', conn, 'abort'), '1');
    out.push(`wrote 1 to ${step.write.path}`);
  } catch (e) {
    good = false;
    out.push(`could not write ${step.write.path}: ${(e as Error).message}`);
  }
  if (step.signal) out.push(await stopDaemon(ctx, step.signal));
  return { ok: good, skipped: false, code: null, output: out.join('; ') };
}

// Every signal but the last at once, the last after the grace period if the daemon still lives.
// Only the process seen when the plan was made (same start time) is signalled.
async function stopDaemon(ctx: StepContext, sig: NonNullable<PlanStep['signal']>): Promise<string> {
  const { host } = ctx;
  const start = ctx.daemonStart ?? null;
  const same = async (): Promise<boolean> => {
    const st = await readProcStat(host, sig.pid);
    return st !== null && st.state !== 'Z' && (start === null || st.startTicks === start);
  };
  if (!(await same())) return `daemon ${sig.pid} already gone`;
  const sent: string[] = [];
  for (const s of sig.signals.slice(0, -1)) if (host.signal(sig.pid, s as NodeJS.Signals)) sent.push(s);
  const last = sig.signals.at(-1);
  const end = performance.now() + sig.graceMs;
  while (performance.now() < end && (await same())) await delay(25);
  if (last && (await same())) {
    if (host.signal(sig.pid, last as NodeJS.Signals)) sent.push(last);
    const end2 = performance.now() + 2000;
    while (performance.now() < end2 && (await same())) await delay(25);
  }
  return `sent ${sent.join(', ') || 'nothing'} to daemon ${sig.pid}; ${(await same()) ? 'it is still running' : 'it exited'}`;
}

// unmount, unmount-lazy, unmount-force: only the target mount, only while it is on top of its
// mountpoint, only while the parents are the recorded directories; verified gone afterwards.
async function unmountStep(ctx: StepContext, step: PlanStep): Promise<Outcome> {
  const t = step.target;
  if (!t || !step.argv) return refuse('the step names no mount or command');
  const where = await locate(ctx.host, t);
  if (where === 'gone') return skip('no longer needed: the mount is gone');
  if (where !== 'top') {
    return refuse(
      where === 'moved'
        ? `mount ${t.mountId} is no longer at ${t.mountpoint}`
        : `another mount now covers mount ${t.mountId} at ${t.mountpoint}; it is not unmounted`,
    );
  }
  const bad = await parentsUnchanged(ctx, t.mountpoint);
  if (bad) return refuse(`the path changed: ${bad}`);
  if (step.action === 'unmount-lazy') {
    // A lazy unmount is recursive (umount2 MNT_DETACH): it would silently take healthy children
    // along. DESIGN section 6: they are set aside first, or the step does not run.
    const mounts = await readMounts(ctx.host);
    const top = mounts.find((m) => sameMount(m, t))!;
    const kids = mounts.filter(
      (m) => m.parentId === top.id && m.mountpoint !== top.mountpoint && !ctx.allowChildren?.has(m.id),
    );
    if (kids.length > 0) {
      return refuse(
        `${kids.length} mount(s) are attached under ${t.mountpoint} (${kids.map((k) => k.mountpoint).join(', ')}); a lazy unmount would detach them too`,
      );
    }
  }
  const r = await ctx.host.exec(step.argv, { timeoutMs: step.timeoutMs ?? 10_000 });
  const after = await locate(ctx.host, t);
  const gone = after === 'gone';
  return { ok: r.code === 0 && gone, skipped: false, code: r.code, output: tail(r) || (gone ? 'unmounted' : '') };
}

// remount: only once the target is gone, only onto the recorded directory (no symlink, same
// parents), and the new mount must keep ro/nosuid/nodev/noexec. If the path vanished, nothing runs.
async function remount(ctx: StepContext, step: PlanStep): Promise<Outcome> {
  const t = step.target;
  if (!t || !step.argv) return refuse('the step names no mount or command');
  if ((await locate(ctx.host, t)) !== 'gone') {
    return refuse(`mount ${t.mountId} is still in the mount table: the remount would stack on it`);
  }
  const stranger = (await readMounts(ctx.host)).find(
    (m) => m.mountpoint === t.mountpoint && !(ctx.below ?? []).includes(m.id),
  );
  if (stranger) {
    return refuse(
      `another mount (${stranger.id}, ${stranger.fstype}) is now at ${t.mountpoint}; nothing is stacked on it`,
    );
  }
  const c = await verifyPath(ctx.host, t.mountpoint, ctx.parents, {
    includeLast: true,
    timeoutMs: ctx.pathTimeoutMs ?? 2000,
  });
  if (!c.ok) return refuse(`not remounting: ${c.detail}`);
  const before = new Set((await readMounts(ctx.host)).map((m) => m.id));
  let code: number | null;
  let output: string;
  let exited = false;
  // The daemon outlives whoever started it (watch's restarts, a pod's): its own transient unit under
  // systemd, else its own session and a cgroup beside ours (host/daemon-launch.ts).
  const launch = {
    mountpoint: t.mountpoint,
    argv: step.argv,
    env: { ...FIXED_ENV },
    cwd: '/',
    ...(ctx.outputFile !== undefined ? { outputFile: ctx.outputFile } : {}),
  };
  if (ctx.onSpawn) {
    let p: SpawnedProcess;
    try {
      const l = await launchSupervised(ctx.host, { ...launch, kind: 'supervised' });
      p = l.proc;
      output = `started pid ${p.pid}; ${l.note}`;
    } catch (e) {
      return { ok: false, skipped: false, code: null, output: `could not start: ${(e as Error).message}` };
    }
    void p.exited.then(() => (exited = true));
    ctx.onSpawn(p);
    code = p.pid > 0 ? 0 : null;
  } else {
    const l = await launchRemount(ctx.host, { ...launch, kind: 'remount', timeoutMs: step.timeoutMs ?? 30_000 });
    code = l.result.code;
    output = [tail(l.result), l.note].filter((x) => x !== '').join('; ');
  }
  if (code !== 0) return { ok: false, skipped: false, code, output };
  const fresh = await waitForNewMount(
    ctx.host,
    t.mountpoint,
    before,
    ctx.mountAppearMs ?? 5000,
    () => exited,
    ctx.replaces,
  );
  if (!fresh) {
    const why = exited ? 'the daemon exited before its mount appeared' : 'no new mount appeared';
    return { ok: false, skipped: false, code, output: output ? `${output}; ${why}` : why };
  }
  const lost = SECURITY_OPTIONS.filter((o) => (ctx.oldOptions ?? []).includes(o) && !fresh.options.includes(o));
  if (lost.length > 0) {
    return {
      ok: false,
      skipped: false,
      code,
      output: `the new mount lacks ${lost.join(', ')} that the old one had`,
      mount: fresh,
    };
  }
  return { ...ok(output, code), mount: fresh };
}

// restart-unit: systemctl restart of a root-owned unit, then wait for its mount.
async function restartUnit(ctx: StepContext, step: PlanStep): Promise<Outcome> {
  const t = step.target;
  if (!step.argv) return refuse('the step names no command');
  const before = new Set((await readMounts(ctx.host)).map((m) => m.id));
  const r = await ctx.host.exec(step.argv, { timeoutMs: step.timeoutMs ?? 60_000 });
  if (r.code !== 0) return { ok: false, skipped: false, code: r.code, output: tail(r) };
  const fresh = t ? await waitForNewMount(ctx.host, t.mountpoint, before, ctx.mountAppearMs ?? 5000) : null;
  return fresh
    ? { ...ok(tail(r)), mount: fresh }
    : { ok: false, skipped: false, code: r.code, output: 'no new mount appeared' };
}

const reportHolders: StepFn = (_ctx, step) => Promise.resolve(ok(step.why, null));
const none: StepFn = () => Promise.resolve(ok('', null));

// One function per plan action.
export const STEP_FUNCTIONS: Record<PlanAction, StepFn> = {
  'abort-connection': abortConnection,
  unmount: unmountStep,
  'unmount-lazy': unmountStep,
  'unmount-force': unmountStep,
  remount,
  'restart-unit': restartUnit,
  'report-holders': reportHolders,
  graft: graftStep,
  none,
};

// The programs a topology step may run: mount and umount, by absolute path from TRUSTED_DIRS.
const TOPOLOGY_PROGRAMS = new Set(['mount', 'umount']);

// A topology step (topology-plan.ts: mount --bind / --rbind, umount -l of a bind or child, a bind
// remount, or a child's own remount as its owner). Right before it runs, the mount it names and the
// healed mount are re-read from mountinfo (DESIGN section 6); a path naming another mount stops it.
async function topologyStep(ctx: StepContext, step: PlanStep): Promise<Outcome> {
  const argv = step.argv;
  if (!argv || argv.length === 0) return refuse('the step names no command');
  const prog = argv[0]!;
  const base = prog.slice(prog.lastIndexOf('/') + 1);
  // Absolute paths only: a bare name would be resolved at spawn time, where nobody checked it.
  if (!prog.startsWith('/')) return refuse(`${prog} is not an absolute path`);
  if (step.runAs === undefined && !TOPOLOGY_PROGRAMS.has(base)) {
    return refuse(`${prog} is not a program a topology step runs as root`);
  }
  // A child's own remount runs as its owner: through setpriv, or env -i when heal already is that user.
  if (step.runAs !== undefined && base !== 'setpriv' && base !== 'env') {
    return refuse(`${prog} is not how a remount runs as uid ${step.runAs} (setpriv or env -i)`);
  }
  const mounts = await readMounts(ctx.host);
  const checks = [
    ...(step.mount ? [checkIdentity(mounts, { ...step.mount })] : []),
    ...(ctx.healed ? [checkIdentity(mounts, ctx.healed)] : []),
  ];
  const bad = checks.find((c) => !c.ok);
  if (bad && !bad.ok) return refuse(`not run: ${bad.reason}`);
  const isBind = base === 'mount' && (argv.includes('--bind') || argv.includes('--rbind'));
  if (base === 'mount' && !isBind && (argv[2] ?? '').startsWith('remount,bind')) {
    // A bind the helper made already has its flags (mount_setattr): nothing to change, and no
    // mount(8) call on a path someone could swap meanwhile.
    const want = argv[2]!.split(',').slice(2);
    const top = topAt(mounts, argv.at(-1)!);
    if (top && want.every((o) => top.options.includes(o)))
      return skip(`${top.mountpoint} already has ${want.join(',')}`);
  }
  // The paths it names hold no symlink (mount(2) and umount2(2) follow them): a bind source under a
  // user's healthy FUSE mount replaced by a link to /root must not bind /root. A mountpoint being
  // detached is not looked at itself (its root is the dead filesystem's); a bind source is.
  const seen = new Map<string, DirIdentity>();
  for (const { p, last } of pathOperands(argv, base)) {
    const c = await checkPath(ctx.host, p, {
      includeLast: last || isBind,
      timeoutMs: ctx.pathTimeoutMs ?? 2000,
      ...(step.phase === 'before-unmount' && ctx.deadRoot !== undefined ? { skipUnder: ctx.deadRoot } : {}),
    });
    if (!c.ok) return refuse(`not run: ${c.detail}`);
    const end = c.dirs.at(-1);
    if (end?.path === p) seen.set(p, end);
  }
  if (isBind) {
    // The source must be on the mount it is bound from: the mount the step names, or the healed one.
    const from = bindSourceDevice(ctx, step, mounts);
    const src = seen.get(argv.at(-2)!);
    if (src && from !== null && src.dev !== from) {
      return refuse(`not run: ${src.path} is on device ${src.dev}, not on the mount it is bound from (${from})`);
    }
    // By file descriptors where the native helper can: what was just checked is what is bound.
    const done = ctx.host.bindTree ? await bindByFd(ctx, step, from, seen) : null;
    if (done !== null) return done;
  }
  const r = await ctx.host.exec(argv, {
    timeoutMs: step.timeoutMs ?? 10_000,
    // A child's remount leaves a daemon behind: its output goes to a file, so it holds no pipe of ours.
    ...(step.runAs !== undefined && ctx.outputFile !== undefined ? { outputFile: ctx.outputFile } : {}),
  });
  return { ok: r.code === 0, skipped: false, code: r.code, output: tail(r) };
}

// The st_dev a device major:minor has in stat(2) (glibc's makedev), as `stat %d` prints it.
function devNumber(major: number, minor: number): number {
  return (
    (major & 0xfff) * 0x100 +
    (minor & 0xff) +
    Math.floor(minor / 0x100) * 0x100000 +
    Math.floor(major / 0x1000) * 2 ** 44
  );
}

// The st_dev the source of a bind step must have: the mount the step names (a child set aside), or
// the healed mount when the source lies under it; null when neither says.
function bindSourceDevice(ctx: StepContext, step: PlanStep, mounts: readonly MountInfo[]): number | null {
  const source = step.argv!.at(-2)!;
  const healed = ctx.healed ? mounts.find((m) => m.id === ctx.healed!.id) : undefined;
  const owner = step.mount ?? (healed && isUnder(source, healed.mountpoint) ? healed : undefined);
  return owner ? devNumber(owner.major, owner.minor) : null;
}

// `mount --bind|--rbind SRC DST` done by the native helper (Host.bindTree): SRC and DST resolved
// without following symlinks, each the inode the stat child saw just before (SRC also on device
// `want`), the step's flags set before the new mount is attached. Closes the window between the
// lstat checks and mount(8). Null when there is no helper: the caller runs mount(8), checked as above.
async function bindByFd(
  ctx: StepContext,
  step: PlanStep,
  want: number | null,
  seen: ReadonlyMap<string, DirIdentity>,
): Promise<Outcome | null> {
  const argv = step.argv!;
  const [source, target] = [argv.at(-2)!, argv.at(-1)!];
  const src = seen.get(source);
  const dst = seen.get(target);
  const r = await ctx.host.bindTree!({
    source,
    target,
    recursive: argv.includes('--rbind'),
    attrs: step.mountAttrs ?? [],
    sourceId: src ? { dev: src.dev, ino: src.ino } : want !== null ? { dev: want, ino: null } : null,
    targetId: dst ? { dev: dst.dev, ino: dst.ino } : null,
    timeoutMs: step.timeoutMs ?? 10_000,
  });
  if (r === null) return null;
  if (r.ok) {
    const flags = step.mountAttrs?.length ? `, ${step.mountAttrs.join(',')} set before attaching it` : '';
    return ok(
      `bound by file descriptors (native helper: openat2 without symlinks, open_tree, inode checked${flags}, move_mount)`,
      null,
    );
  }
  if ('hung' in r) return { ok: false, skipped: false, code: null, output: 'the helper did not answer in time' };
  // A symlink on the way (ELOOP) or another inode (ESTALE): the path changed after it was checked.
  if (r.errno === 'ELOOP' || r.errno === 'ESTALE') {
    return refuse(`not run: the path changed after it was checked (${r.step}: ${r.errno}); nothing was bound`);
  }
  return { ok: false, skipped: false, code: null, output: `the helper's bind failed at ${r.step}: ${r.errno}` };
}

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

// The paths a topology step acts on, and whether the last component is checked too.
function pathOperands(argv: readonly string[], base: string): Array<{ p: string; last: boolean }> {
  if (base === 'umount') return [{ p: argv.at(-1)!, last: false }];
  if (base !== 'mount') return [];
  if (argv.includes('--bind') || argv.includes('--rbind')) {
    return [
      { p: argv.at(-2)!, last: true },
      { p: argv.at(-1)!, last: false },
    ];
  }
  return [{ p: argv.at(-1)!, last: false }]; // mount -o remount,bind,... MOUNTPOINT
}

export interface TopologyRun {
  ok: boolean;
  results: StepResult[];
  problem: string | null; // why the run stopped
}

// Run topology steps in order through runStep (audited, requiresForce, identity re-check); stop at
// the first that fails or is refused. `stageDirs`: root's own staging directories, created 0700.
export async function runTopologySteps(
  ctx: StepContext,
  steps: readonly PlanStep[],
  opts: {
    stageDirs?: readonly string[];
    healed?: MountIdentity;
    from?: number;
    // Crash recovery: a step the mount table shows done already is passed over, not run again.
    done?: (step: PlanStep) => Promise<boolean>;
  } = {},
): Promise<TopologyRun> {
  for (const d of opts.stageDirs ?? []) await ctx.host.mkdirp(d, 0o700);
  // onStep journals progress through the main plan by its index: topology steps are not in it.
  const { onStep: _journal, ...rest } = ctx;
  void _journal;
  const c: StepContext = opts.healed ? { ...rest, healed: opts.healed } : rest;
  const results: StepResult[] = [];
  let i = opts.from ?? 0;
  for (const step of steps) {
    if (opts.done && (await opts.done(step))) continue;
    const r = await runStep(c, { ...step, phase: step.phase ?? 'after-remount' }, i++);
    results.push(r);
    if (!r.ok) {
      const why = r.refused ?? (r.output || `exit ${r.code}`);
      return { ok: false, results, problem: `${(step.argv ?? []).join(' ')} failed: ${why}` };
    }
  }
  return { ok: true, results, problem: null };
}

// Re-graft the healed mount into another mount namespace, through the native helper (DESIGN §8):
// only while the planned process is still that process (start ticks) in that namespace (its
// ns/mnt link); the helper checks the namespace's inode and the stale copy's mount id again as it
// acts, so a pid reused in between names nothing. Then the namespace's own table must show the
// healed superblock there with the copy's root and flags.
async function graftStep(ctx: StepContext, step: PlanStep): Promise<Outcome> {
  const g = step.graft;
  if (!g) return refuse('the step names no graft');
  if (!/^\d+:\d+$/.test(g.sourceDevice)) return refuse('the healed mount is not known yet');
  const ino = mntnsInode(g.mntns);
  if (ino === null) return refuse(`${g.mntns} is not a mount namespace`);
  const now = await ctx.host.readLink(ctx.host.proc(g.pid, 'ns', 'mnt'));
  if (now !== g.mntns) return refuse(`pid ${g.pid} is no longer in mount namespace ${g.mntns}`);
  if (g.pidStart !== null && (await readProcStat(ctx.host, g.pid))?.startTicks !== g.pidStart) {
    return refuse(`pid ${g.pid} is another process now (its start time changed)`);
  }
  const shown = async (): Promise<MountInfo | undefined> => {
    const text = await ctx.host.readText(ctx.host.proc(g.pid, 'mountinfo'));
    try {
      return text
        ? parseMountinfo(text)
            .filter((m) => m.mountpoint === g.target)
            .at(-1)
        : undefined;
    } catch {
      return undefined;
    }
  };
  const before = await shown();
  if (before && `${before.major}:${before.minor}` === g.sourceDevice && before.root === g.root) {
    return skip(`the namespace already shows the healed mount at ${g.target} (propagated)`);
  }
  const r = await ctx.host.graft({
    pid: g.pid,
    mntnsInode: ino,
    source: g.source,
    sourceDevice: g.sourceDevice,
    target: g.target,
    staleMountId: g.staleMountId,
    attrs: g.attrs,
    timeoutMs: step.timeoutMs ?? 5000,
  });
  if (!r.ok) {
    const why = 'hung' in r ? 'the helper did not answer in time' : `${r.step}: ${r.errno}`;
    return { ok: false, skipped: false, code: null, output: `graft failed (${why})` };
  }
  const top = await shown();
  if (!top || `${top.major}:${top.minor}` !== g.sourceDevice || top.root !== g.root) {
    return {
      ok: false,
      skipped: false,
      code: null,
      output: `the namespace does not show ${g.root} of the healed mount at ${g.target}`,
    };
  }
  return ok(
    `mount ${top.id} (${top.major}:${top.minor} ${top.root}, ${top.options.join(',')}) at ${g.target} in ${g.mntns}`,
  );
}

// Run one step: enforce requiresForce, dispatch, audit.
export async function runStep(ctx: StepContext, step: PlanStep, index: number): Promise<StepResult> {
  const t0 = performance.now();
  const out =
    step.requiresForce && !ctx.force
      ? refuse(`${step.action} requires --force (${step.risk}: ${step.why})`)
      : step.phase !== undefined
        ? await topologyStep(ctx, step)
        : await STEP_FUNCTIONS[step.action](ctx, step);
  const result: StepResult = { step, ...out, durationMs: Math.round(performance.now() - t0) };
  if (step.action !== 'none') {
    await appendAudit(ctx.host, {
      kind: 'step',
      healId: ctx.healId,
      origin: ctx.origin,
      at: new Date(ctx.host.now()).toISOString(),
      mountpoint: step.target?.mountpoint ?? step.mount?.mountpoint ?? '',
      mountId: step.target?.mountId ?? step.mount?.id ?? null,
      index,
      action: step.action,
      ...(step.argv ? { argv: step.argv } : {}),
      ...(step.write ? { write: step.write } : {}),
      ...(step.graft ? { graft: step.graft } : {}),
      ok: result.ok,
      skipped: result.skipped,
      ...(result.refused !== undefined ? { refused: result.refused } : {}),
      code: result.code,
      output: result.output,
      durationMs: result.durationMs,
      pid: process.pid,
      uid: ctx.host.uid(),
    });
  }
  await ctx.onStep?.(index, result);
  // Tests only (ENOTCONN_FAILPOINT): stop here, audited and journaled, for a kill -9 in this state.
  if (step.action !== 'none') failpointAfterStep(ctx.host, step.action, ctx.origin);
  return result;
}

export interface PlanRun {
  results: StepResult[];
  unmounted: boolean; // the target mount is gone
  mount: MountInfo | null; // the new mount, when a remount or restart brought one
  failure: string | null; // why the run stopped early
}

// Run a plan from step `from`, escalating: the unmount steps run until one takes the mount away,
// the rest are skipped; the remount runs only once the old mount is gone.
export async function runPlan(ctx: StepContext, plan: readonly PlanStep[], from = 0): Promise<PlanRun> {
  const results: StepResult[] = [];
  let unmounted = false;
  let mount: MountInfo | null = null;
  for (let i = from; i < plan.length; i++) {
    const step = plan[i]!;
    const isUnmount = step.action.startsWith('unmount');
    if (isUnmount && unmounted) {
      const r: StepResult = { step, ...skip('no longer needed: the mount is gone'), durationMs: 0 };
      results.push(r);
      await ctx.onStep?.(i, r);
      continue;
    }
    const wantedUnmount = plan.slice(from, i).some((s) => s.action.startsWith('unmount'));
    if ((step.action === 'remount' || step.action === 'restart-unit') && wantedUnmount && !unmounted) {
      const why = 'not run: the old mount could not be unmounted';
      const r: StepResult = { step, ok: false, skipped: true, code: null, output: why, durationMs: 0 };
      results.push(r);
      await ctx.onStep?.(i, r);
      return { results, unmounted, mount, failure: 'every unmount step failed; the dead mount is still in place' };
    }
    const r = await runStep(ctx, step, i);
    results.push(r);
    if (r.refused !== undefined) return { results, unmounted, mount, failure: r.refused };
    if (isUnmount || step.action === 'abort-connection') {
      unmounted = step.target ? (await locate(ctx.host, step.target)) === 'gone' : unmounted;
      continue;
    }
    if (step.action === 'remount' || step.action === 'restart-unit') {
      if (!r.ok)
        return { results, unmounted, mount: r.mount ?? null, failure: `the ${step.action} failed: ${r.output}` };
      mount = r.mount ?? null;
    }
  }
  const wanted = plan.slice(from).some((s) => s.action.startsWith('unmount'));
  if (wanted && !unmounted && mount === null) {
    return { results, unmounted, mount, failure: 'every unmount step failed; the dead mount is still in place' };
  }
  return { results, unmounted, mount, failure: null };
}

// The first mount at `mp` that was not there before, waited for up to `ms`. With `replaces`, only
// the mount on top of the path with the replaced mount's parent (findReplacement). Why not compare
// ids or devices with the old mount: both are allocated lowest-free and often come back the same.
async function waitForNewMount(
  host: Host,
  mp: string,
  before: ReadonlySet<number>,
  ms: number,
  stop: () => boolean = () => false,
  replaces?: MountIdentity,
): Promise<MountInfo | null> {
  const end = performance.now() + ms;
  for (;;) {
    const mounts = await readMounts(host);
    const fresh = replaces
      ? findReplacement(mounts, replaces, before)
      : mounts.filter((m) => m.mountpoint === mp && !before.has(m.id)).at(-1);
    if (fresh) return fresh;
    if (performance.now() > end || stop()) return null;
    await delay(25);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
