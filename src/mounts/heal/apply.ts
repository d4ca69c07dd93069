// heal: plan, apply step by step with a re-check before each one, remount, validate, audit
// (heal issue 7). Findings are data: a refusal or a failed step is a HealReport, never an exception.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { launchRemount } from '../../host/daemon-launch.js';
import type { Host, ProbeState } from '../../host/types.js';
import { readProcStat } from '../../host/proc.js';
import { diagnose } from '../diagnose.js';
import type { Cause, DaemonInfo, Diagnosis, Holder, NamespaceView, PlanStep } from '../diagnosis.js';
import { mountContaining, mountForPath } from '../find-mount.js';
import { optionValue, type MountInfo } from '../mountinfo/parse.js';
import { findFuseDaemon, readProcessTable } from '../process-table.js';
import { KNOWN_DAEMONS, backendFor } from '../backends/index.js';
import { DEFAULT_TYPES, readMounts, typeMatches, type MountReport } from '../scan.js';
import { checkIdentity, findReplacement, identityOf, type MountIdentity } from '../mountinfo/identity.js';
import { healTarget, planTopology, remountChildren, validateTopology, type TopologyPlan } from './topology-plan.js';
import { childRemounts, runTopologySteps, undoStaging } from './topology-run.js';
import { preflightRecipe } from './recipes.js';
import { appendAudit } from './audit.js';
import { findMountUsers, stillOnOldMount, type HolderRecord } from './holders.js';
import { acquireHealLock } from './lock.js';
import { buildPlan, hostPath, isFuse, resolveRecipe } from './plan.js';
import { namespaceSeesHealed, propagationSteps, verifyNamespace, type NamespaceCheck } from './propagate.js';
import type { Recipe } from './recipe.js';
import { RecipeStore } from './recipe-store.js';
import { DEFAULT_PATH } from './recipes.js';
import { containerRootRefusal, protectedPathRefusal, stateRefusal, type Refusal } from './safety.js';
import { probeMount, validateMount, type Validation } from './validate.js';

export interface HealOptions {
  dryRun: boolean;
  force: boolean;
  propagate: boolean;
  timeoutMs?: number; // probe timeout for the checks before and after (default 2 s)
  recipe?: Recipe; // use this recipe instead of resolving one (watch's managed mounts)
  configFile?: string; // enotconn's config, for managed mounts (default /etc/enotconn/config.yaml)
}

export interface HealStepResult {
  step: PlanStep;
  ok: boolean;
  skipped: boolean; // the re-check before this step found it was no longer needed
  code: number | null;
  output: string; // stderr/stdout tail, for the report
  durationMs: number;
}

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
}

const DEFAULT_TIMEOUT_MS = 2000;
const MOUNT_APPEAR_MS = 5000;

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

function sameMount(a: MountInfo, b: MountInfo): boolean {
  return a.id === b.id && a.major === b.major && a.minor === b.minor;
}

function ownerOf(mount: MountInfo, daemon: DaemonInfo | null): { uid: number; gid: number } | null {
  if (!isFuse(mount)) return null;
  const uid = daemon?.uid ?? Number(optionValue(mount.superOptions, 'user_id') ?? NaN);
  const gid = daemon?.gid ?? Number(optionValue(mount.superOptions, 'group_id') ?? NaN);
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
  // DESIGN §6: heal acts on the mount that shows the whole filesystem; a subtree bind is re-bound from it.
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
  try {
    const r = await healLocked(host, mount, opts, notes, t0);
    if (!opts.dryRun) await audit(host, r, mount, opts);
    return r;
  } finally {
    if (lock?.ok) await lock.release();
  }
}

async function healLocked(
  host: Host,
  mount: MountInfo,
  opts: HealOptions,
  notes: string[],
  t0: number,
): Promise<HealReport> {
  const ms = (): number => Math.round(performance.now() - t0);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const a = await assess(host, mount, opts);
  const recipe =
    opts.recipe ??
    (await resolveRecipe(host, mount, a.daemon, opts.configFile !== undefined ? { configFile: opts.configFile } : {}));
  const plan = buildPlan(
    {
      mount,
      report: a.report,
      state: a.state,
      causes: a.causes,
      daemon: a.daemon,
      holders: a.holders,
      recipe,
      fuseConnection: isFuse(mount) ? mount.minor : null,
    },
    { force: opts.force, selfUid: host.uid() },
  );
  let topo = planTopology(await readMounts(host), mount, {
    stageRoot: path.join(host.runDir, 'stage', `${process.pid}-${Date.now()}`),
  });
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
  };
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
  const refusal = stateRefusal(a.state, a.daemon, opts.force, isFuse(mount) ? 'fuse' : 'network');
  if (refusal) return { ...report, reason: refusal.message, refusal: refusal.rule, durationMs: ms() };
  if (topo.refusal) return { ...report, reason: topo.refusal.message, refusal: 'topology', durationMs: ms() };
  if (!recipe) {
    return {
      ...report,
      result: 'failed',
      reason:
        'no recipe to remount with: declare the mount in the config, or let enotconn see it alive once (scan); nothing was changed',
      refusal: 'no-recipe',
      durationMs: ms(),
    };
  }
  // A remount that cannot work (the endpoint refuses, credentials are missing) must not follow an unmount.
  const pre = await preflightRecipe(host, recipe, mount);
  notes.push(...pre.notes);
  if (!pre.ok) {
    return {
      ...report,
      reason: `refusing to unmount: the remount cannot work (${pre.reason}); the dead mount is left in place`,
      refusal: 'remount-cannot-work',
      durationMs: ms(),
    };
  }
  if (opts.dryRun) {
    return {
      ...report,
      result: 'dry-run',
      reason: `would run ${(report.plan ?? plan).filter((s) => s.argv || s.write).length} step(s)`,
      durationMs: ms(),
    };
  }

  // Apply, escalating; the mount table is re-read before each step.
  let unmounted = false;
  let recheckedState = false;
  let staged = topo.before.length === 0;
  let present: Set<number> = new Set();
  const oldId = identityOf(mount);
  for (const step of plan) {
    const s0 = performance.now();
    const done = (r: Omit<HealStepResult, 'step' | 'durationMs'>): void => {
      report.steps.push({ step, ...r, durationMs: Math.round(performance.now() - s0) });
    };
    if (step.action === 'none' || step.action === 'report-holders') {
      done({ ok: true, skipped: false, code: null, output: '' });
      continue;
    }
    // DESIGN §6: the identity (id, device, root, parent) is re-read; a path naming another mount stops.
    const table = await readMounts(host);
    const idc = checkIdentity(table, oldId, {
      noChildren: step.action === 'unmount-lazy' && staged,
      allowChildren: topo.detachWithParent,
    });
    const stillThere = idc.ok;
    if (!idc.ok && !unmounted && table.some((m) => sameMount(m, mount))) {
      done({ ok: false, skipped: true, code: null, output: `not run: ${idc.reason}` });
      return { ...report, result: 'failed', reason: `stopped before ${step.action}: ${idc.reason}`, durationMs: ms() };
    }
    if (step.action === 'abort-connection' || step.action.startsWith('unmount')) {
      if (!stillThere) {
        unmounted = true;
        done({ ok: true, skipped: true, code: null, output: 'the mount is already gone from the mount table' });
        continue;
      }
      if (!recheckedState && !opts.force) {
        // Re-check: a mount that recovered on its own (daemon resumed, server back) is left alone.
        recheckedState = true;
        const p = await probeMount(host, mount, ownerOf(mount, a.daemon), timeoutMs);
        if (p.state === 'healthy') {
          done({ ok: true, skipped: true, code: null, output: 'the mount answers again; nothing more to do' });
          return {
            ...report,
            result: 'refused',
            refusal: 'healthy',
            reason: 'the mount recovered by itself before it was unmounted; nothing was changed',
            durationMs: ms(),
          };
        }
      }
    }
    if (step.action === 'abort-connection') {
      const out: string[] = [];
      let ok = true;
      if (step.write) {
        try {
          await host.writeText(hostPath(host, step.write.path), step.write.data);
          out.push(`wrote ${step.write.data} to ${step.write.path}`);
        } catch (e) {
          ok = false;
          out.push(`could not write ${step.write.path}: ${(e as Error).message}`);
        }
      }
      if (step.signal) out.push(await stopDaemon(host, step.signal, a.daemonStart));
      done({ ok, skipped: false, code: null, output: out.join('; ') });
      continue;
    }
    if (step.action.startsWith('unmount')) {
      if (unmounted) {
        done({ ok: true, skipped: true, code: null, output: 'no longer needed: the mount is gone' });
        continue;
      }
      if (!staged) {
        // Children bound aside and detached, dead binds under it detached: the unmount drops nothing.
        staged = true;
        const run = await runTopologySteps(host, topo.before, null, topo.stageDirs);
        report.steps.push(...run.results);
        if (!run.ok) {
          const undo = await runTopologySteps(
            host,
            undoStaging(run.results.filter((r) => r.ok).map((r) => r.step)),
            null,
          );
          report.steps.push(...undo.results);
          // The children cannot be reached by path: mount them again from their own daemons instead.
          const alt = undo.ok
            ? remountChildren(topo, await childRemounts(host, await readMounts(host), mount, host.uid()))
            : null;
          const altRun = alt ? await runTopologySteps(host, alt.before, null) : null;
          if (altRun) report.steps.push(...altRun.results);
          if (!alt || !altRun?.ok) {
            return {
              ...report,
              result: 'failed',
              reason: `could not set the child mounts aside (${altRun?.problem ?? run.problem}); ${undo.ok ? 'they were put back and' : 'putting them back failed too;'} the dead mount was not unmounted`,
              durationMs: ms(),
            };
          }
          topo = alt;
          notes.push(...alt.notes.slice(-alt.detachWithParent.size));
          report.plan = [...(report.plan ?? []), ...alt.after.slice(0, alt.detachWithParent.size)];
        }
        const again = checkIdentity(await readMounts(host), oldId, {
          noChildren: step.action === 'unmount-lazy',
          allowChildren: topo.detachWithParent,
        });
        if (!again.ok) {
          return {
            ...report,
            result: 'failed',
            reason: `stopped before ${step.action}: ${again.reason}`,
            durationMs: ms(),
          };
        }
      }
      const r = await host.exec(step.argv ?? [], { timeoutMs: step.timeoutMs ?? 10_000, env: { PATH: DEFAULT_PATH } });
      const afterTable = await readMounts(host);
      unmounted = !afterTable.some((m) => sameMount(m, mount));
      if (unmounted) present = new Set(afterTable.map((m) => m.id));
      done({
        ok: r.code === 0 && unmounted,
        skipped: false,
        code: r.code,
        output: execOutput(r),
      });
      continue;
    }
    // remount / restart-unit
    if (!unmounted) {
      done({ ok: false, skipped: true, code: null, output: 'not run: the old mount could not be unmounted' });
      return {
        ...report,
        result: 'failed',
        reason: 'every unmount step failed; the dead mount is still in place',
        durationMs: ms(),
      };
    }
    if (present.size === 0) present = new Set((await readMounts(host)).map((m) => m.id));
    const r = await runRemount(host, step, recipe);
    const fresh = r.code === 0 ? await waitForNewMount(host, oldId, present) : null;
    done({ ok: r.code === 0 && fresh !== null, skipped: false, code: r.code, output: execOutput(r) });
    if (!fresh) {
      return {
        ...report,
        result: 'failed',
        reason: `the remount did not bring the mount back (exit ${r.code ?? r.signal ?? r.spawnError}): ${execOutput(r)}`,
        durationMs: ms(),
      };
    }
  }

  const healed = await waitForNewMount(host, oldId, present);
  if (!healed) return { ...report, result: 'failed', reason: 'no new mount appeared', durationMs: ms() };
  // Validate: fresh probe, listing, a file read back with the same content.
  const v = await validateMount(host, healed, recipe, timeoutMs, `heal-${process.pid}-${Date.now()}`);
  report.validation = v;
  report.validated = v.ok;
  if (v.ok && v.sample.path && v.sample.sha256 && v.sample.how !== 'recorded') await recordSample(host, recipe, v);

  // Namespaces (--propagate): detach the dead copy and attach the healed mount in each.
  if (opts.propagate && a.namespaces.length > 0) {
    report.namespaces = [];
    const owner = { uid: recipe.uid, gid: recipe.gid, ...(recipe.user !== undefined ? { user: recipe.user } : {}) };
    for (const view of a.namespaces) {
      if (!(await namespaceSeesHealed(host, view, healed))) {
        for (const step of propagationSteps(view, mount.mountpoint)) {
          const r = await host.exec(step.argv ?? [], {
            timeoutMs: step.timeoutMs ?? 5000,
            env: { PATH: DEFAULT_PATH },
          });
          report.steps.push({
            step,
            ok: r.code === 0,
            skipped: false,
            code: r.code,
            output: execOutput(r),
            durationMs: Math.round(r.durationMs),
          });
        }
      }
      report.namespaces.push(await verifyNamespace(host, view, healed, owner, v.sample.path, v.sample.sha256 ?? null));
    }
  }

  // Topology: binds re-bound from the new mount with their own roots, children re-attached.
  const topoProblems = v.ok ? await restoreTopology(host, topo, healed, report) : [];

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
  const reason = !v.ok
    ? `remounted, but validation failed: ${validationProblem(v)}`
    : nsFailed.length > 0
      ? `healed on the host, but not in ${nsFailed.length} namespace(s): ${nsFailed.map((n) => `pid ${n.pid}: ${n.detail}`).join('; ')}`
      : `healed: ${recipe.origin} recipe, validated (${v.sample.detail})`;
  return { ...report, result, reason, durationMs: ms() };
}

function validationProblem(v: Validation): string {
  if (v.probe.state !== 'healthy')
    return `the fresh probe says ${v.probe.state}${v.probe.errno ? ` (${v.probe.errno})` : ''}`;
  if (!v.listed) return 'the directory does not list';
  return v.sample.detail;
}

function execOutput(r: { stdout: string; stderr: string; timedOut: boolean; spawnError: string | null }): string {
  const text = `${r.stderr}${r.stdout}`.trim();
  const tail = text.length > 500 ? `...${text.slice(-500)}` : text;
  if (r.timedOut) return `timed out${tail ? `: ${tail}` : ''}`;
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  return tail;
}

// Stop the wedged daemon: every signal but the last at once, the last after the grace period if it
// is still alive. Only the process seen during the assessment (same start time) is signalled.
async function stopDaemon(host: Host, sig: NonNullable<PlanStep['signal']>, start: number | null): Promise<string> {
  const same = async (): Promise<boolean> => {
    const st = await readProcStat(host, sig.pid);
    return st !== null && st.state !== 'Z' && (start === null || st.startTicks === start);
  };
  if (!(await same())) return `daemon ${sig.pid} already gone`;
  const sent: string[] = [];
  const first = sig.signals.slice(0, -1);
  const last = sig.signals.at(-1);
  for (const s of first) if (host.signal(sig.pid, s as NodeJS.Signals)) sent.push(s);
  const end = performance.now() + sig.graceMs;
  while (performance.now() < end && (await same())) await new Promise((r) => setTimeout(r, 25));
  if (last && (await same())) {
    if (host.signal(sig.pid, last as NodeJS.Signals)) sent.push(last);
    const end2 = performance.now() + 2000;
    while (performance.now() < end2 && (await same())) await new Promise((r) => setTimeout(r, 25));
  }
  return `sent ${sent.join(', ') || 'nothing'} to daemon ${sig.pid}; ${(await same()) ? 'it is still running' : 'it exited'}`;
}

// Run the remount detached: its output goes to a log file, so a daemon it leaves behind keeps no
// pipe of ours open; the step returns when the command exits (the daemon has forked by then).
async function runRemount(host: Host, step: PlanStep, recipe: Recipe): ReturnType<Host['exec']> {
  const logDir = path.join(host.stateDir, 'logs');
  let outputFile: string | undefined;
  try {
    await host.mkdirp(logDir, 0o700);
    const h = createHash('sha256').update(recipe.mountpoint).digest('hex').slice(0, 16);
    outputFile = path.join(logDir, `remount-${h}.log`);
  } catch {
    outputFile = undefined;
  }
  // The recorded cwd, unless it is gone or inside the mount being healed.
  const cwd =
    recipe.cwd !== null &&
    !(recipe.cwd === recipe.mountpoint || recipe.cwd.startsWith(`${recipe.mountpoint}/`)) &&
    (await host.fileExists(recipe.cwd))
      ? recipe.cwd
      : '/';
  // The daemon it forks outlives watch: its own transient unit under systemd, else its own session and cgroup.
  const { result, note } = await launchRemount(host, {
    kind: 'remount',
    mountpoint: recipe.mountpoint,
    argv: step.argv ?? [],
    env: { PATH: DEFAULT_PATH, ...recipe.env },
    cwd,
    timeoutMs: step.timeoutMs ?? 30_000,
    ...(outputFile !== undefined ? { outputFile } : {}),
  });
  return { ...result, stdout: `${result.stdout}${note}\n` };
}

// The mount now at the mountpoint, once the old one is gone (waiting briefly for it to appear).
// Why not compare with the old mount's id and device: both are allocated lowest-free, so a new
// mount on the same path often gets exactly the old id and minor number back.
async function waitForNewMount(
  host: Host,
  old: MountIdentity,
  present: ReadonlySet<number>,
): Promise<MountInfo | null> {
  const end = performance.now() + MOUNT_APPEAR_MS;
  for (;;) {
    // The replacement: on top of the path, same parent, not one of the mounts already there (the
    // lower layer of a stacked mount is on that path all along).
    const top = findReplacement(await readMounts(host), old, present);
    if (top) return top;
    if (performance.now() > end || host.isFixture) return null;
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Run the after-remount topology steps and check the result; one line per problem ([] when all is back).
async function restoreTopology(
  host: Host,
  topo: TopologyPlan,
  healed: MountInfo,
  report: HealReport,
): Promise<string[]> {
  const problems: string[] = [];
  if (topo.after.length > 0) {
    const run = await runTopologySteps(host, topo.after, identityOf(healed), [], topo.env);
    report.steps.push(...run.results);
    if (!run.ok) problems.push(`restoring its binds and children stopped: ${run.problem}`);
  }
  problems.push(...validateTopology(await readMounts(host), healed, topo.expect));
  for (const d of topo.leftDead) {
    problems.push(`the bind ${d.mount.mountpoint} (mount ${d.mount.id}) is left dead: ${d.reason}`);
  }
  return problems;
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
