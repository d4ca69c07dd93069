// heal: assess, resolve a recipe (read only) and judge it, plan (pure), then run the plan through
// the one step executor (heal/steps.ts), validate and audit. Findings are data: a refusal or a
// failed step is a HealReport, never an exception.
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Host, ProbeState } from '../../host/types.js';
import { readProcStat } from '../../host/proc.js';
import { diagnose } from '../diagnose.js';
import type { Cause, DaemonInfo, Diagnosis, Holder, NamespaceView, PlanStep } from '../diagnosis.js';
import { mountContaining, mountForPath } from '../find-mount.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { daemonHoldsConnection, findFuseDaemon, fuseConnectionOf, readProcessTable } from '../process-table.js';
import { KNOWN_DAEMONS, backendFor } from '../backends/index.js';
import { DEFAULT_TYPES, readMounts, typeMatches, type MountReport } from '../scan.js';
import { identityOf, type MountIdentity } from '../mountinfo/identity.js';
import {
  healTarget,
  planTopology,
  remountChildren,
  undoStaging,
  validateTopology,
  type TopologyPlan,
} from './topology-plan.js';
import { preflightRecipe } from './recipes.js';
import { appendAudit } from './audit.js';
import { findMountUsers, stillOnOldMount, type HolderRecord } from './holders.js';
import { acquireHealLock } from './lock.js';
import { checkPath, type DirIdentity } from './path-check.js';
import { buildPlan, isFuse } from './plan.js';
import { childRemounts, preparePlan } from './prepare.js';
import { graftSteps, staleCopiesOf, verifyGraft, type NamespaceCheck } from './regraft.js';
import type { Recipe } from './recipe.js';
import { RecipeStore } from './recipe-store.js';
import { resolveRecipeFor } from './record.js';
import { containerRootRefusal, protectedPathRefusal, stateRefusal, type Refusal } from './safety.js';
import { runPlan, runStep, runTopologySteps, type StepContext, type StepResult } from './steps.js';
import { dropStageDirs, journalTopology, type JournalTopology } from './topology-resume.js';
import { mountOwner, recipeVerdict } from './trust.js';
import { probeMount, validateMount, type Validation } from './validate.js';

// The whole plan, written to the journal before its first step (watch's crash recovery finishes
// or rolls it back from this alone).
export interface JournalPlan {
  version: 2 | 3;
  healId: string;
  target: { mountId: number; device: string; mountpoint: string };
  parents: DirIdentity[];
  below: number[]; // mounts beneath the target at its mountpoint
  oldOptions: string[];
  force: boolean;
  recipe: Recipe;
  plan: PlanStep[];
  // Version 3: the target's whole identity, its daemon's start time when planned, and the topology
  // steps that run around the plan (children set aside and re-attached, binds re-bound).
  identity?: MountIdentity;
  daemonStart?: number | null;
  topology?: JournalTopology;
}

export interface HealJournal {
  begin(entry: JournalPlan): void | Promise<void>;
  step(index: number, result: StepResult): void | Promise<void>;
}

export interface HealOptions {
  dryRun: boolean;
  force: boolean;
  propagate: boolean;
  timeoutMs?: number; // probe timeout for the checks before and after (default 2 s)
  recipe?: Recipe; // use this recipe instead of resolving one (watch's managed mounts)
  configFile?: string; // enotconn's config, for managed mounts (default /etc/enotconn/config.yaml)
  journal?: HealJournal; // watch: the write-ahead journal of this heal
  origin?: StepContext['origin']; // who asked, for the audit (default 'heal')
}

export type HealStepResult = StepResult;

export interface HealReport {
  mountpoint: string;
  result: 'healed' | 'refused' | 'failed' | 'dry-run';
  reason: string; // one line: why refused/failed, or what was done
  diagnosis: Diagnosis | null;
  recipe: Recipe | null;
  steps: HealStepResult[];
  validated: boolean;
  stillOnOldMount: Holder[]; // holders whose cwd or open files are still on the dead mount
  durationMs: number;
  // Added by the heal issue (fields may be added, never renamed):
  state?: ProbeState; // the state heal found before acting
  cause?: string; // the top cause id
  plan?: PlanStep[]; // the plan as built (what --dry-run prints)
  refusal?: Refusal['rule'];
  validation?: Validation;
  namespaces?: NamespaceCheck[]; // --propagate: each foreign mount namespace, verified
  notes?: string[];
  recipeTrust?: { trusted: boolean; why: string };
  healId?: string;
}

const DEFAULT_TIMEOUT_MS = 2000;

interface Assessment {
  state: ProbeState;
  daemon: DaemonInfo | null;
  daemonStart: number | null;
  holders: HolderRecord[];
  namespaces: NamespaceView[];
  causes: Cause[];
  diagnosis: Diagnosis | null;
  report: MountReport;
}

function ownerOf(mount: MountInfo, daemon: DaemonInfo | null): { uid: number; gid: number } | null {
  if (!isFuse(mount)) return null;
  // The kernel's user_id= names the owner; a process's uid is only a claim about itself.
  const uid = mountOwner(mount) ?? NaN;
  const gid = Number(
    /^group_id=(\d+)$/.exec(mount.superOptions.find((o) => o.startsWith('group_id=')) ?? '')?.[1] ?? daemon?.gid ?? NaN,
  );
  return Number.isFinite(uid) && Number.isFinite(gid) ? { uid, gid } : null;
}

// What heal needs to know before planning. diagnose() gives state, causes, daemon, holders and
// namespaces; should it fail, heal reads the essentials itself.
async function assess(host: Host, mount: MountInfo, opts: HealOptions): Promise<Assessment> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let d: Diagnosis | null = null;
  try {
    d = await diagnose(host, mount.mountpoint, { timeoutMs, force: opts.force });
  } catch {
    d = null;
  }
  let state: ProbeState;
  let daemon: DaemonInfo | null;
  let holders: HolderRecord[];
  let namespaces: NamespaceView[];
  let causes: Cause[];
  let report: MountReport;
  if (d) {
    state = d.state;
    daemon = d.daemon;
    causes = d.causes;
    report = d.mount;
    namespaces = d.namespaces;
    holders = (
      await Promise.all(
        d.holders.map(async (h) => {
          const st = await readProcStat(host, h.pid);
          return st ? { ...h, start: st.startTicks } : null;
        }),
      )
    ).filter((h): h is HolderRecord => h !== null);
  } else {
    const p = await probeMount(host, mount, null, timeoutMs);
    state = p.state;
    daemon = null;
    if (isFuse(mount)) {
      const proc = await findFuseDaemon(host, mount, await readProcessTable(host), KNOWN_DAEMONS);
      const ids = proc ? await host.readText(host.proc(proc.pid, 'status')) : null;
      daemon = {
        pid: proc?.pid ?? null,
        argv: proc?.argv ?? null,
        uid: ids ? Number(/^Uid:\s+(\d+)/m.exec(ids)?.[1] ?? NaN) : null,
        gid: ids ? Number(/^Gid:\s+(\d+)/m.exec(ids)?.[1] ?? NaN) : null,
        comm: proc?.comm ?? null,
        state: proc?.state ?? null,
        startedAt: null,
        source: proc ? 'proc' : 'none',
      };
    }
    const users = await findMountUsers(host, mount, new Set(daemon?.pid != null ? [daemon.pid] : []));
    holders = users.holders;
    namespaces = users.namespaces;
    causes = [];
    report = {
      id: mount.id,
      mountpoint: mount.mountpoint,
      source: mount.source,
      fstype: mount.fstype,
      backend: backendFor(mount, { daemonArgv: daemon?.argv ?? null })?.name ?? null,
      options: mount.superOptions,
      mountOptions: mount.options,
      state,
      ...(p.errno !== undefined ? { errno: p.errno } : {}),
    };
  }
  // A FUSE mount without allow_other refuses everyone but its owner (EACCES): ask as the owner.
  const owner = ownerOf(mount, daemon);
  if (state === 'denied' && owner && owner.uid !== host.uid()) {
    const p = await probeMount(host, mount, owner, timeoutMs);
    state = p.state;
    report = { ...report, state, ...(p.errno !== undefined ? { errno: p.errno } : {}) };
  }
  if (causes.length === 0 && daemon?.pid == null && isFuse(mount) && state === 'dead') {
    causes = [{ id: 'daemon-gone', confidence: 0.9, summary: 'the FUSE daemon no longer exists', evidence: [] }];
  }
  // A process is this mount's daemon only when it holds the mount's /dev/fuse connection: an
  // impostor naming the mountpoint in its argv is never signalled, nor taken for a live daemon.
  if (daemon?.pid != null && daemon.source === 'proc' && isFuse(mount)) {
    const proof = await daemonHoldsConnection(host, daemon.pid, mount, mountOwner(mount));
    if (!proof.holds && proof.why !== 'unknown') {
      daemon = { ...daemon, pid: null, state: null, source: 'none' };
    }
  }
  const daemonStart =
    daemon?.pid != null && daemon.source === 'proc'
      ? ((await readProcStat(host, daemon.pid))?.startTicks ?? null)
      : null;
  return { state, daemon, daemonStart, holders, namespaces, causes, diagnosis: d, report };
}

// Heal the mount holding `path`: plan, apply step by step with re-checks, remount, validate.
export async function healMount(host: Host, p: string, opts: HealOptions): Promise<HealReport> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  const abs = path.resolve(p);
  const base = (mountpoint: string): HealReport => ({
    mountpoint,
    result: 'refused',
    reason: '',
    diagnosis: null,
    recipe: null,
    steps: [],
    validated: false,
    stillOnOldMount: [],
    durationMs: 0,
  });

  // Safety first, before anything else is read: /, /proc, /sys, /dev, /run.
  const containing = mountContaining(await readMounts(host), abs);
  const prot = protectedPathRefusal(
    abs,
    containing && typeMatches(containing.fstype, DEFAULT_TYPES) ? containing : null,
  );
  if (prot) {
    const r: HealReport = {
      ...base(containing?.mountpoint ?? abs),
      reason: prot.message,
      refusal: prot.rule,
      durationMs: ms(),
    };
    if (!opts.dryRun) await audit(host, r, null, opts);
    return r;
  }
  const atPath = await mountForPath(host, abs); // ENC_NOT_A_MOUNT for anything else
  // DESIGN section 6: heal acts on the mount that shows the whole filesystem; a subtree bind is
  // re-bound from it.
  const picked = healTarget(await readMounts(host), atPath);
  if ('refusal' in picked) {
    const r: HealReport = { ...base(atPath.mountpoint), reason: picked.refusal, refusal: 'topology', durationMs: ms() };
    if (!opts.dryRun) await audit(host, r, atPath, opts);
    return r;
  }
  const mount = picked.target;
  const report0 = base(mount.mountpoint);
  const croot = await containerRootRefusal(host, mount);
  if (croot) {
    const r = { ...report0, reason: croot.message, refusal: croot.rule, durationMs: ms() };
    if (!opts.dryRun) await audit(host, r, mount, opts);
    return r;
  }

  // One heal per mount at a time; a dry run changes nothing and takes no lock.
  const lock = opts.dryRun ? null : await acquireHealLock(host, mount.mountpoint);
  if (lock && !lock.ok) {
    const o = lock.owner;
    const r: HealReport = {
      ...report0,
      reason: `refusing to heal: another heal (pid ${o.pid}, since ${o.since}) holds the lock ${lock.file}`,
      refusal: 'locked',
      durationMs: ms(),
    };
    await audit(host, r, mount, opts);
    return r;
  }
  const notes: string[] = picked.note ? [picked.note] : [];
  if (lock?.ok && lock.tookOverStale) {
    notes.push(`took over a stale lock left by pid ${lock.tookOverStale.pid} (no longer running)`);
  }
  // Where children are kept while their parent is remounted: root's own, removed once empty.
  const stageRoot = path.join(host.runDir, 'stage', `${process.pid}-${Date.now()}`);
  const stageDirs: string[] = [];
  try {
    const r = await healLocked(host, mount, opts, notes, t0, stageRoot, stageDirs);
    if (!opts.dryRun) await audit(host, r, mount, opts);
    return r;
  } finally {
    if (stageDirs.length > 0) await dropStageDirs(host, stageDirs);
    if (lock?.ok) await lock.release();
  }
}

async function healLocked(
  host: Host,
  mount: MountInfo,
  opts: HealOptions,
  notes: string[],
  t0: number,
  stageRoot: string,
  stageDirs: string[], // filled with the staging directories this heal creates
): Promise<HealReport> {
  const ms = (): number => Math.round(performance.now() - t0);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const healId = `${host.hostname()}-${process.pid}-${host.now()}`;
  const a = await assess(host, mount, opts);
  const recipe =
    opts.recipe ??
    (await resolveRecipeFor(
      host,
      mount,
      a.daemon,
      opts.configFile !== undefined ? { configFile: opts.configFile } : {},
    ));
  const verdict = recipe ? recipeVerdict(recipe, mount) : null;
  const ctx = await preparePlan(host, mount, recipe);
  notes.push(...ctx.notes);
  const plan = buildPlan(
    {
      mount,
      report: a.report,
      state: a.state,
      causes: a.causes,
      daemon: a.daemon,
      holders: a.holders,
      recipe,
      fuseConnection: isFuse(mount) ? fuseConnectionOf(mount) : null,
      daemonProgram: ctx.daemonProgram,
      ownerHome: ctx.ownerHome,
      cwd: ctx.cwd,
      cannotRemount: ctx.cannotRemount,
    },
    { force: opts.force, selfUid: host.uid(), programs: ctx.programs },
  );
  let topo = planTopology(await readMounts(host), mount, { stageRoot, programs: ctx.programs });
  notes.push(...topo.notes);
  const report: HealReport = {
    mountpoint: mount.mountpoint,
    result: 'refused',
    reason: '',
    diagnosis: a.diagnosis,
    recipe,
    steps: [],
    validated: false,
    stillOnOldMount: [],
    durationMs: 0,
    state: a.state,
    ...(a.causes[0] ? { cause: a.causes[0].id } : {}),
    // The topology steps run around the main ones: before the first unmount, after the remount.
    plan: plan.some((s) => s.action === 'remount' || s.action === 'restart-unit')
      ? [...topo.before, ...plan, ...topo.after]
      : plan,
    notes,
    ...(verdict ? { recipeTrust: verdict } : {}),
    healId,
  };
  const refused = (rule: Refusal['rule'], reason: string, result: HealReport['result'] = 'refused'): HealReport => ({
    ...report,
    result,
    reason,
    refusal: rule,
    durationMs: ms(),
  });
  if (recipe?.origin === 'reconstructed') {
    notes.push(
      `the recipe is RECONSTRUCTED from the mount table (this mount was never seen alive); it may lack: ${recipe.missing.join('; ')}`,
    );
  }
  if (a.namespaces.length > 0 && !opts.propagate) {
    notes.push(
      `${a.namespaces.length} other mount namespace(s) still hold the dead mount (${a.namespaces.map((n) => `pid ${n.pids[0]} ${n.comm}`).join(', ')}); rerun with --propagate to re-attach the healed mount there`,
    );
  }
  if (opts.propagate && a.state === 'healthy') {
    return regraftOnly(host, mount, a, opts, report, ms);
  }
  if (opts.propagate && a.namespaces.length > 0) {
    report.plan = [
      ...(report.plan ?? plan),
      ...graftSteps(a.namespaces, { mountpoint: mount.mountpoint, root: mount.root, device: null }),
    ];
  }
  const refusal = stateRefusal(a.state, a.daemon, opts.force, isFuse(mount) ? 'fuse' : 'network');
  if (refusal) return refused(refusal.rule, refusal.message);
  if (topo.refusal) return refused('topology', topo.refusal.message);
  if (!recipe) {
    return refused(
      'no-recipe',
      'no recipe to remount with: declare the mount in the config, or let enotconn see it alive once (scan); nothing was changed',
      'failed',
    );
  }
  if (verdict && !verdict.trusted && !opts.force) {
    return refused(
      'untrusted-recipe',
      `refusing to run an untrusted recipe without --force: ${verdict.why}. Check the plan (--dry-run) and pass --force, or declare the mount in the config`,
    );
  }
  const noWay = plan.find((s) => s.action === 'none' && /nothing is unmounted$/.test(s.why));
  if (noWay) return refused('cannot-remount', `refusing to heal: ${noWay.why}`, 'failed');
  // A remount that cannot work (the endpoint refuses, the owner cannot log in) must not follow an
  // unmount: refuse before anything runs.
  const pre = await preflightRecipe(host, recipe, mount);
  notes.push(...pre.notes);
  if (!pre.ok) {
    return refused(
      'remount-cannot-work',
      `refusing to unmount: the remount cannot work (${pre.reason}); the dead mount is left in place`,
    );
  }
  // The mountpoint's parents, recorded before anything runs: every step compares against them.
  const parents = await checkPath(host, mount.mountpoint, { includeLast: false, timeoutMs });
  if (!parents.ok && !opts.dryRun) {
    return refused('unsafe-path', `refusing to heal ${mount.mountpoint}: ${parents.detail}`);
  }
  if (opts.dryRun) {
    if (!parents.ok)
      notes.push(`a real heal would refuse: the path of ${mount.mountpoint} cannot be verified (${parents.detail})`);
    return {
      ...report,
      result: 'dry-run',
      reason: `would run ${(report.plan ?? plan).filter((s) => s.argv || s.write).length} step(s)`,
      durationMs: ms(),
    };
  }

  // Re-check: a mount that recovered on its own (daemon resumed, server back) is left alone.
  if (!parents.ok) return refused('unsafe-path', `refusing to heal ${mount.mountpoint}: ${parents.detail}`);
  if (!opts.force) {
    const p = await probeMount(host, mount, ownerOf(mount, a.daemon), timeoutMs);
    if (p.state === 'healthy') {
      return refused('healthy', 'the mount recovered by itself before it was unmounted; nothing was changed');
    }
  }
  const target = { mountId: mount.id, device: `${mount.major}:${mount.minor}`, mountpoint: mount.mountpoint };
  const stack = (await readMounts(host)).filter((m) => m.mountpoint === mount.mountpoint);
  const below = stack
    .slice(
      0,
      stack.findIndex((m) => m.id === mount.id),
    )
    .map((m) => m.id);
  // The whole plan, topology included, before the first step (again should the topology change).
  const journalEntry = (): JournalPlan => ({
    version: 3,
    healId,
    target,
    parents: parents.dirs,
    below,
    oldOptions: mount.options,
    force: opts.force,
    recipe,
    plan,
    identity: identityOf(mount),
    daemonStart: a.daemonStart,
    topology: journalTopology(topo),
  });
  await opts.journal?.begin(journalEntry());
  const logFile = await remountLog(host, mount.mountpoint);
  const stepCtx: StepContext = {
    host,
    force: opts.force,
    healId,
    origin: opts.origin ?? 'heal',
    parents: parents.dirs,
    below,
    daemonStart: a.daemonStart,
    oldOptions: mount.options,
    ...(logFile !== undefined ? { outputFile: logFile } : {}),
    pathTimeoutMs: timeoutMs,
    ...(opts.journal ? { onStep: (i: number, r: StepResult) => opts.journal!.step(i, r) } : {}),
  };
  // Children bound aside and detached, dead binds under it detached: the unmount drops nothing.
  const oldId = identityOf(mount);
  if (topo.before.length > 0) {
    stepCtx.deadRoot = mount.mountpoint;
    stageDirs.push(...topo.stageDirs);
    const staged = await runTopologySteps(stepCtx, topo.before, { stageDirs: topo.stageDirs });
    report.steps.push(...staged.results);
    if (!staged.ok) {
      const undo = await runTopologySteps(
        stepCtx,
        undoStaging(
          staged.results.filter((r) => r.ok && !r.skipped).map((r) => r.step),
          ctx.programs,
        ),
      );
      report.steps.push(...undo.results);
      // The children cannot be reached by path: mount them again from their own daemons instead.
      const alt = undo.ok
        ? remountChildren(
            topo,
            await childRemounts(host, await readMounts(host), mount, {
              selfUid: host.uid(),
              programs: ctx.programs,
              force: opts.force,
            }),
          )
        : null;
      const altRun = alt ? await runTopologySteps(stepCtx, alt.before) : null;
      if (altRun) report.steps.push(...altRun.results);
      if (!alt || !altRun?.ok) {
        return {
          ...report,
          result: 'failed',
          reason: `could not set the child mounts aside (${altRun?.problem ?? staged.problem}); ${undo.ok ? 'they were put back and' : 'putting them back failed too;'} the dead mount was not unmounted`,
          durationMs: ms(),
        };
      }
      topo = alt;
      await opts.journal?.begin(journalEntry());
      notes.push(...alt.notes.slice(-alt.detachWithParent.size));
      report.plan = [...(report.plan ?? []), ...alt.after.slice(0, alt.detachWithParent.size)];
    }
  }
  stepCtx.allowChildren = topo.detachWithParent;
  stepCtx.replaces = oldId;
  const run = await runPlan(stepCtx, plan);
  report.steps.push(...run.results);
  if (run.failure !== null || !run.mount) {
    if (!run.unmounted && topo.before.length > 0) {
      // Nothing was unmounted: the children set aside go back where they were.
      const undo = await runTopologySteps(
        stepCtx,
        undoStaging(
          report.steps.filter((r) => r.ok && !r.skipped && r.step.phase === 'before-unmount').map((r) => r.step),
          ctx.programs,
        ),
      );
      report.steps.push(...undo.results);
    }
    return { ...report, result: 'failed', reason: run.failure ?? 'no new mount appeared', durationMs: ms() };
  }
  const healed = run.mount;
  // Validate as the owner: fresh probe, listing, a file read back with the same content.
  const v = await validateMount(host, healed, recipe, timeoutMs, `heal-${process.pid}-${Date.now()}`);
  report.validation = v;
  report.validated = v.ok;
  if (v.ok && v.sample.path && v.sample.sha256 && v.sample.how !== 'recorded') await recordSample(host, recipe, v);

  // Topology: binds re-bound from the new mount with their own roots, children re-attached.
  const topoProblems = v.ok ? await restoreTopology(stepCtx, topo, healed, report) : [];

  // Namespaces (--propagate), once the host is whole again: each dead copy is replaced by the
  // healed mount's tree, by the helper.
  if (opts.propagate && a.namespaces.length > 0) {
    report.namespaces = await runGrafts(stepCtx, a.namespaces, healed, ownerOf(mount, a.daemon), timeoutMs, report);
  }

  report.stillOnOldMount = await stillOnOldMount(host, mount, a.holders);
  const nsFailed = (report.namespaces ?? []).filter((n) => !n.ok);
  if (v.ok && topoProblems.length > 0) {
    return {
      ...report,
      result: 'failed',
      reason: `remounted ${mount.mountpoint}, but ${topoProblems.join('; ')}`,
      durationMs: ms(),
    };
  }
  const result: HealReport['result'] = v.ok && nsFailed.length === 0 ? 'healed' : 'failed';
  // The reason goes into watch's incidents (/api/incidents): no file names or hashes in it.
  const reason = !v.ok
    ? `remounted, but validation failed (${v.probe.state !== 'healthy' ? `probe ${v.probe.state}` : !v.listed ? 'listing' : 'read-back'})`
    : nsFailed.length > 0
      ? `healed on the host, but not in ${nsFailed.length} namespace(s): ${nsFailed.map((n) => `pid ${n.pid}`).join(', ')}`
      : `healed: ${recipe.origin} recipe, validated (probe, listing, read-back ${v.sample.how})`;
  return { ...report, result, reason, durationMs: ms() };
}

// Re-graft every dead copy in `views` from `healed`, each step through the executor (audited),
// then check each namespace's view; one check per copy.
async function runGrafts(
  ctx: StepContext,
  views: readonly NamespaceView[],
  healed: MountInfo,
  owner: { uid: number; gid: number } | null,
  timeoutMs: number,
  report: HealReport,
): Promise<NamespaceCheck[]> {
  const device = `${healed.major}:${healed.minor}`;
  const checks: NamespaceCheck[] = [];
  for (const step of graftSteps(views, { mountpoint: healed.mountpoint, root: healed.root, device })) {
    const r = await runStep(ctx, step, report.steps.length);
    report.steps.push(r);
    const g = step.graft;
    if (!g) {
      const v = views.find((x) => step.why.includes(`(pid ${x.pids[0]},`));
      checks.push({ mntns: v?.mntns ?? '?', pid: v?.pids[0] ?? 0, mountpoint: '', ok: false, detail: step.why });
    } else if (!r.ok) {
      const detail = `not re-attached: ${r.refused ?? r.output}`;
      checks.push({ mntns: g.mntns, pid: g.pid, mountpoint: g.target, ok: false, detail });
    } else {
      checks.push(await verifyGraft(ctx.host, g, owner, timeoutMs));
    }
  }
  return checks;
}

// heal --propagate of a mount that is healthy on the host: only the other namespaces' dead copies
// of an earlier instance of it (healed before, or remounted by a CSI driver) are re-grafted.
async function regraftOnly(
  host: Host,
  mount: MountInfo,
  a: Assessment,
  opts: HealOptions,
  report: HealReport,
  ms: () => number,
): Promise<HealReport> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const owner = ownerOf(mount, a.daemon);
  const views = await staleCopiesOf(host, mount, owner, timeoutMs);
  const device = `${mount.major}:${mount.minor}`;
  const plan = graftSteps(views, { mountpoint: mount.mountpoint, root: mount.root, device });
  const base = { ...report, plan, durationMs: 0 };
  if (views.length === 0) {
    return {
      ...base,
      result: 'refused',
      refusal: 'healthy',
      reason: 'the mount is healthy, and no other mount namespace holds a dead copy of it; nothing was changed',
      durationMs: ms(),
    };
  }
  if (opts.dryRun) {
    return {
      ...base,
      result: 'dry-run',
      reason: `would re-attach ${plan.filter((s) => s.graft).length} dead copy(ies) in other mount namespaces`,
      durationMs: ms(),
    };
  }
  const ctx: StepContext = {
    host,
    force: opts.force,
    healId: report.healId ?? `${host.hostname()}-${process.pid}-${host.now()}`,
    origin: opts.origin ?? 'heal',
    parents: null,
  };
  const r: HealReport = { ...base, steps: [] };
  r.namespaces = await runGrafts(ctx, views, mount, owner, timeoutMs, r);
  const failed = r.namespaces.filter((n) => !n.ok);
  const okCount = r.namespaces.length - failed.length;
  return {
    ...r,
    result: failed.length === 0 ? 'healed' : 'failed',
    validated: failed.length === 0,
    reason:
      failed.length === 0
        ? `the host mount was healthy; re-attached it in ${okCount} place(s) in other mount namespaces`
        : `re-attached ${okCount} of ${r.namespaces.length} dead copies in other mount namespaces; ${failed.map((n) => `pid ${n.pid}: ${n.detail}`).join('; ')}`,
    durationMs: ms(),
  };
}

// Run the after-remount topology steps through the executor (each re-verifies the healed mount and
// the mount it acts on) and check the result; one line per problem ([] when all is back).
async function restoreTopology(
  ctx: StepContext,
  topo: TopologyPlan,
  healed: MountInfo,
  report: HealReport,
): Promise<string[]> {
  const problems: string[] = [];
  if (topo.after.length > 0) {
    const run = await runTopologySteps(ctx, topo.after, { healed: identityOf(healed), from: report.steps.length });
    report.steps.push(...run.results);
    if (!run.ok) problems.push(`restoring its binds and children stopped: ${run.problem}`);
  }
  problems.push(...validateTopology(await readMounts(ctx.host), healed, topo.expect));
  for (const d of topo.leftDead) {
    problems.push(`the bind ${d.mount.mountpoint} (mount ${d.mount.id}) is left dead: ${d.reason}`);
  }
  return problems;
}

// Where a remount's output goes: a log file, so a daemon it leaves behind keeps no pipe of ours.
async function remountLog(host: Host, mountpoint: string): Promise<string | undefined> {
  const logDir = path.join(host.stateDir, 'logs');
  try {
    await host.mkdirp(logDir, 0o700);
    return path.join(logDir, `remount-${createHash('sha256').update(mountpoint).digest('hex').slice(0, 16)}.log`);
  } catch {
    return undefined;
  }
}

async function recordSample(host: Host, recipe: Recipe, v: Validation): Promise<void> {
  try {
    const store = await RecipeStore.open(host);
    try {
      store.putSample(recipe.mountpoint, recipe.source, {
        path: v.sample.path!,
        sha256: v.sample.sha256!,
        recordedAt: new Date(host.now()).toISOString(),
      });
    } finally {
      store.close();
    }
  } catch {
    // the store is an optimisation for the next heal; never fail this one over it
  }
}

async function audit(host: Host, r: HealReport, mount: MountInfo | null, opts: HealOptions): Promise<void> {
  const err = await appendAudit(host, {
    at: new Date(host.now()).toISOString(),
    host: host.hostname(),
    mountpoint: r.mountpoint,
    source: mount?.source ?? null,
    fstype: mount?.fstype ?? null,
    state: r.state ?? r.diagnosis?.state ?? null,
    cause: r.diagnosis?.causes[0]?.id ?? r.cause ?? null,
    result: r.result,
    reason: r.reason,
    dryRun: opts.dryRun,
    force: opts.force,
    recipeOrigin: r.recipe?.origin ?? null,
    steps: r.steps.map((s) => ({
      action: s.step.action,
      ...(s.step.argv ? { argv: s.step.argv } : {}),
      ok: s.ok,
      skipped: s.skipped,
      code: s.code,
      durationMs: s.durationMs,
    })),
    validated: r.validated,
    stillOnOldMount: r.stillOnOldMount.map((h) => h.pid),
    durationMs: r.durationMs,
    pid: process.pid,
    uid: host.uid(),
  });
  if (err) (r.notes ??= []).push(`the audit log could not be written: ${err}`);
}
