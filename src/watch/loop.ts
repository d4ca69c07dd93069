// The watch loop (issue 4 "The loop"): probe every watched mount on an interval with jitter through
// the host's hang-safe probe runner, open an incident after N consecutive failures, and heal through
// the heal pipeline with per-mount backoff and a circuit breaker. Each mount's probe is handled on
// its own, so one hung mount never delays the others, and nothing here is awaited by a scrape.
import type { Host, ProbeOptions, ProbeResult, ProbeTarget } from '../host/types.js';
import { backendFor } from '../mounts/backends/index.js';
import type { Diagnosis } from '../mounts/diagnosis.js';
import type { DiagnoseOptions } from '../mounts/diagnose.js';
import type { HealOptions, HealReport, JournalPlan } from '../mounts/heal/apply.js';
import type { MountInfo } from '../mounts/mountinfo/parse.js';
import { mountKey, typeMatches, DEFAULT_TYPES, type MountReport, type ScanReport } from '../mounts/scan.js';
import { parseMountinfo } from '../mounts/mountinfo/parse.js';
import { probeRunAs } from '../mounts/probe/run-as.js';
import type { Alerter } from './alerts.js';
import type { WatchConfig } from './config.js';
import type { IncidentBook } from './incidents.js';
import type { Logger } from './logger.js';
import { PROBE_BUCKETS_US, type WatchMetrics } from './metrics.js';
import { Backoff, CircuitBreaker, Hysteresis, jittered } from './policy.js';
import type { MountView, WatchState } from './state.js';
import type { WatchStore } from './store.js';
import type { Supervisor } from './supervisor.js';

export type HealFn = (host: Host, path: string, opts: HealOptions) => Promise<HealReport>;
export type DiagnoseFn = (host: Host, path: string, opts?: DiagnoseOptions) => Promise<Diagnosis>;
export type RecordRecipesFn = (host: Host, report: ScanReport) => Promise<number>;

export interface LoopDeps {
  host: Host;
  config: WatchConfig;
  state: WatchState;
  store: WatchStore;
  metrics: WatchMetrics;
  alerter: Alerter;
  incidents: IncidentBook;
  log: Logger;
  heal: HealFn;
  diagnose: DiagnoseFn;
  recordRecipes: RecordRecipesFn;
  supervisors: ReadonlyMap<string, Supervisor>;
  configFile?: string; // passed to heal, so managed mounts resolve their recipe from it
  random?: () => number;
}

interface Policy {
  hysteresis: Hysteresis;
  backoff: Backoff;
  breaker: CircuitBreaker;
  dryRunDone: boolean;
  diagnosed: boolean;
  killRequestedFor: number | null; // managed: the daemon pid we already asked the supervisor to kill
  reportedAt: number | null; // when the engine last reported this mount's latency (not left out)
  refreshMs: number; // how long after reportedAt its latency is measured in full again
  // The probe target of the mount as last read from the table, and of its quiet probe in `band`:
  // built once, not per cycle (a steady watch probes the same mounts with the same targets).
  target: { of: MountInfo; plain: ProbeTarget; quiet: ProbeTarget | null } | null;
}

// A healthy mount's latency is measured again about this often (± a quarter): its quiet probes
// (left out while healthy and no slower than their band) show only that it stayed within the band.
const LATENCY_REFRESH_MS = 60_000;
// The band a quiet probe is left out in: [0, the top of the bucket above the last latency's), and
// at least 2.5 ms (index 2), so the jitter of a healthy mount (0.1-2 ms on a loaded host) stays quiet.
const QUIET_MIN_BUCKET = 2;

// Glob on a mountpoint: `*` within one path segment, `**` across segments.
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// The mounts the config asks watch to observe (managed ones are always watched).
export function observedMounts(all: readonly MountInfo[], observe: WatchConfig['observe']): MountInfo[] {
  const include = observe.include.map(globToRegExp);
  const exclude = observe.exclude.map(globToRegExp);
  return all.filter(
    (m) =>
      (observe.all || typeMatches(m.fstype, observe.types ?? DEFAULT_TYPES)) &&
      (include.length === 0 || include.some((r) => r.test(m.mountpoint))) &&
      !exclude.some((r) => r.test(m.mountpoint)),
  );
}

// The probe cycle and the heal decisions.
export class WatchLoop {
  private timer: NodeJS.Timeout | null = null;
  private readonly confirmTimers = new Map<string, NodeJS.Timeout>();
  private readonly healingDevices = new Set<string>(); // "major:minor" of the filesystems being healed
  private readonly policies = new Map<string, Policy>();
  private stopped = true;
  private recording = false;
  private readonly log: Logger;
  private readonly confirmMs: number;
  private table: { text: string; managed: string; watched: Map<string, MountInfo> } | null = null;

  constructor(private readonly d: LoopDeps) {
    this.log = d.log;
    const c = d.config;
    this.confirmMs = c.confirmInterval ?? Math.min(1000, Math.max(100, Math.round(c.interval / 5)));
    this.probeOptions = { timeoutMs: c.probeTimeout, concurrency: c.concurrency, latencyBucketsUs: PROBE_BUCKETS_US };
  }

  // Start cycling: the first cycle runs at once.
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.confirmTimers.values()) clearTimeout(t);
    this.confirmTimers.clear();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      // The next cycle keeps its cadence even while this one waits on a slow probe or a heal: a
      // mount still being probed or healed is skipped by the next cycle, never probed twice.
      this.schedule(jittered(this.d.config.interval, this.d.config.jitter, this.d.random));
      void this.cycle().catch((e: unknown) => this.log.error({ err: e }, 'probe cycle failed'));
    }, ms);
  }

  // One cycle: read the mount table, start a probe of every watched mount not already being probed
  // or healed. Returns once every probe it started has been handled.
  async cycle(): Promise<void> {
    const { host, state } = this.d;
    const now = host.now();
    state.lastCycleAt = now;
    state.cycles++;
    const watched = await this.watchedMounts();
    // Observed mounts that left the table: forget them (an admin unmounted them), closing any incident.
    for (const v of [...state.mounts.values()]) {
      if (v.managed !== null || watched.has(v.mountpoint) || v.healing || v.probing) continue;
      if (v.incidentId !== null) {
        this.d.incidents.action(v, 'the mount left the mount table');
        this.d.incidents.close(v, 'vanished', now);
      }
      state.mounts.delete(v.mountpoint);
      this.policies.delete(v.mountpoint);
    }
    const views: MountView[] = [];
    const mounts: MountInfo[] = [];
    for (const m of watched.values()) {
      const v = this.viewFor(m);
      if (v.probing || v.healing) continue;
      views.push(v);
      mounts.push(m);
    }
    await this.probeAll(views, mounts);
    this.recordRecipes();
  }

  // The watched mounts, from a mount table read only when the host says it may have changed (the
  // native helper polls it: a steady host then reads nothing) and parsed only when its bytes
  // changed since the last cycle (comparing costs far less than parsing and matching again).
  private async watchedMounts(): Promise<Map<string, MountInfo>> {
    const { host, config } = this.d;
    const managed = [...this.d.supervisors.keys()].join('\0');
    if (this.table && this.table.managed === managed && !host.mountTableMayHaveChanged()) return this.table.watched;
    const text = (await host.readText(host.proc('self', 'mountinfo'))) ?? '';
    if (this.table && this.table.text === text && this.table.managed === managed) return this.table.watched;
    const all = text === '' ? [] : parseMountinfo(text);
    // Only the top mount at a mountpoint can be probed; a lower one is hidden by it.
    const top = new Map<string, MountInfo>();
    for (const m of all) top.set(m.mountpoint, m);
    const watched = new Map<string, MountInfo>();
    for (const m of observedMounts(all, config.observe)) watched.set(m.mountpoint, top.get(m.mountpoint)!);
    for (const mp of this.d.supervisors.keys()) {
      const m = top.get(mp);
      if (m) watched.set(mp, m);
    }
    this.table = { text, managed, watched };
    return watched;
  }

  // The view of each mount-table entry already taken in: while the table is unchanged, a cycle
  // finds each mount's view without matching its backend or building its device again.
  private readonly viewOf = new WeakMap<MountInfo, MountView>();

  private viewFor(m: MountInfo): MountView {
    const { state, host } = this.d;
    const known = this.viewOf.get(m);
    if (known !== undefined && known.mountId === m.id && state.mounts.get(m.mountpoint) === known) return known;
    const isNew = !state.mounts.has(m.mountpoint);
    const v = state.ensure(m.mountpoint, { fstype: m.fstype, source: m.source }, host.now());
    const dev = `${m.major}:${m.minor}`;
    if (v.device !== dev) {
      if (v.device !== null && !v.healing && v.managed === null) v.regraftDue = true;
      v.device = dev;
    }
    if (v.mountId !== m.id) {
      v.mountId = m.id;
      v.recipeRecorded = false;
    }
    v.fstype = m.fstype;
    v.source = m.source;
    if (v.managed === null) v.backend = backendFor(m, { daemonArgv: null })?.name ?? v.backend;
    if (isNew) this.d.incidents.adopt(v);
    this.viewOf.set(m, v);
    return v;
  }

  private policy(mp: string): Policy {
    let p = this.policies.get(mp);
    if (!p) {
      const h = this.d.config.heal;
      p = {
        hysteresis: new Hysteresis(h.failuresBeforeIncident),
        backoff: new Backoff({ initialMs: h.backoff.initial, maxMs: h.backoff.max, factor: h.backoff.factor }),
        breaker: new CircuitBreaker({
          maxHeals: h.breaker.maxHeals,
          windowMs: h.breaker.window,
          cooldownMs: h.breaker.cooldown,
        }),
        dryRunDone: false,
        diagnosed: false,
        killRequestedFor: null,
        reportedAt: null,
        // Spread over 45-75 s, so the mounts first seen together are not all measured in full in
        // the same cycle each minute (a burst of 1,000 answers at once).
        refreshMs: LATENCY_REFRESH_MS * (0.75 + 0.5 * (this.d.random ?? Math.random)()),
        target: null,
      };
      this.policies.set(mp, p);
    }
    return p;
  }

  // Probe one mount and act on the answer.
  private probe(v: MountView, m: MountInfo): Promise<void> {
    return this.probeAll([v], [m]);
  }

  // Probe `views` (at `mounts`) in one batch and judge each answer as it arrives, with no promise
  // per mount (a cycle's steady cost); returns once every answer, and every heal or regraft one
  // started, is done.
  private async probeAll(views: readonly MountView[], mounts: readonly MountInfo[]): Promise<void> {
    const n = views.length;
    if (n === 0) return;
    const targets = new Array<ProbeTarget>(n);
    // A managed mount's daemon may exit (and a new one start) while its probe runs: the answer is
    // about the mount that was there when it started, so it is dropped if the epoch moved on.
    const epochs = new Array<number | undefined>(n);
    for (let i = 0; i < n; i++) {
      const v = views[i]!;
      v.probing = true;
      epochs[i] = v.managed !== null ? this.d.supervisors.get(v.mountpoint)?.epoch : undefined;
      targets[i] = this.targetFor(v, mounts[i]!);
    }
    const answered = new Uint8Array(n);
    const followUps: Array<Promise<void>> = [];
    try {
      await this.d.host.probeEach(targets, this.probeOptions, (i, r) => {
        const v = views[i]!;
        answered[i] = 1;
        v.probing = false;
        const epoch = epochs[i];
        if (epoch !== undefined && this.d.supervisors.get(v.mountpoint)?.epoch !== epoch) return;
        const f = this.onResult(v, mounts[i]!, r);
        if (f) followUps.push(f);
      });
    } finally {
      // Only a mount whose answer never came (the host failed) is freed here: one answered may be
      // in a confirm probe of its own by now.
      for (let i = 0; i < n; i++) if (answered[i] === 0) views[i]!.probing = false;
      await Promise.all(followUps);
    }
  }

  private readonly probeOptions: ProbeOptions;

  // What to probe for `v` at `m`: in full, or quietly in its band (quietBand).
  private targetFor(v: MountView, m: MountInfo): ProbeTarget {
    const p = this.policy(v.mountpoint);
    if (p.target?.of !== m) {
      p.target = {
        of: m,
        plain: { key: mountKey(m), path: m.mountpoint, ...probeRunAs(m, this.d.host.uid()) },
        quiet: null,
      };
    }
    const t = p.target;
    const band = this.quietBand(v, p);
    if (!band) return t.plain;
    const q = t.quiet?.unchangedBandUs;
    if (!q || q[0] !== band[0] || q[1] !== band[1]) t.quiet = { ...t.plain, unchangedBandUs: band };
    return t.quiet!;
  }

  // The band in which an answer may be left out (the native helper's quiet probe), or undefined
  // for a full answer: an observed mount that is healthy, with no incident or regraft pending,
  // whose latency was measured within its refresh time. Managed mounts always get full answers.
  private quietBand(v: MountView, p: Policy): [number, number] | undefined {
    if (v.managed !== null || v.state !== 'healthy' || v.latencyMs === null || v.regraftDue) return undefined;
    const at = p.reportedAt;
    if (v.incidentId !== null || at === null || this.d.host.now() - at >= p.refreshMs) return undefined;
    const us = v.latencyMs * 1000;
    let i = 0;
    while (i < PROBE_BUCKETS_US.length && us > PROBE_BUCKETS_US[i]!) i++;
    const top = Math.max(i + 1, QUIET_MIN_BUCKET);
    // Buckets hold latencies <= their bound; the band's top is exclusive.
    return [0, top < PROBE_BUCKETS_US.length ? PROBE_BUCKETS_US[top]! + 1 : Number.MAX_SAFE_INTEGER];
  }

  // Judge one answer. Synchronous, as most answers need nothing more; returns the heal or regraft
  // it started, if any.
  private onResult(v: MountView, m: MountInfo, r: ProbeResult): Promise<void> | undefined {
    const { host, metrics, state } = this.d;
    const now = host.now();
    v.lastProbeAt = now;
    const p = this.policy(v.mountpoint);
    if (r.state !== 'hung') {
      // A left-out answer says only that the mount stayed healthy within its band: the latency
      // shown stays the one last measured; the histogram gets its bucket's mean (exact in sum).
      if (r.state !== 'healthy' || r.unchanged !== true) {
        v.latencyMs = r.latencyMs;
        p.reportedAt = now;
      }
      metrics.probeDuration.observe(r.latencyMs / 1000);
    } else {
      v.latencyMs = null;
    }
    const supervisor = v.managed !== null ? this.d.supervisors.get(v.mountpoint) : undefined;
    // A managed mount mid-restart is the supervisor's: its probes are not judged.
    if (supervisor && v.healing) return undefined;
    // `denied` is not a fault (DESIGN §1): reported, never an incident.
    const ok = r.state === 'healthy' || r.state === 'denied';
    const step = p.hysteresis.record(ok, now);
    v.consecutiveFailures = p.hysteresis.consecutiveFailures;
    state.setState(v, r.state, r.state === 'healthy' || r.state === 'hung' ? null : r.errno, now);
    if (ok) {
      this.clearConfirm(v.mountpoint);
      if (v.regraftDue) {
        v.regraftDue = false;
        if (r.state === 'healthy' && this.d.config.heal.propagate && this.d.config.heal.policy === 'on') {
          return this.regraft(v, m).then(() => this.recovered(v, p, now));
        }
      }
      this.recovered(v, p, now);
      return undefined;
    }
    if (step === 'failing') {
      // Re-probe soon, so N failures confirm a fault in N × confirmInterval rather than N intervals.
      this.confirmSoon(v, m);
      return undefined;
    }
    if (v.incidentId === null) {
      this.d.incidents.open(v, {
        state: r.state,
        errno: r.state === 'hung' ? null : r.errno,
        firstSeenAt: p.hysteresis.failingSince ?? now,
        now,
      });
    }
    if (supervisor) {
      const pid = supervisor.pid;
      if (pid !== null && p.killRequestedFor !== pid) {
        p.killRequestedFor = pid;
        supervisor.restartUnhealthy(`${r.state}${r.state !== 'hung' ? ` (${r.errno})` : ''}`);
      }
      return undefined;
    }
    return this.maybeHeal(v, m, p);
  }

  // A mount answered ok: any incident closes (healed, when a heal since it began succeeded).
  private recovered(v: MountView, p: Policy, now: number): void {
    if (v.incidentId !== null) {
      const healed =
        v.lastHealResult === 'healed' && v.lastHealAt !== null && v.lastHealAt >= (p.hysteresis.failingSince ?? 0);
      this.d.incidents.close(v, healed ? 'healed' : 'recovered', now);
    }
    p.dryRunDone = false;
    p.diagnosed = false;
    p.killRequestedFor = null;
  }

  private confirmSoon(v: MountView, m: MountInfo): void {
    this.clearConfirm(v.mountpoint);
    const t = setTimeout(() => {
      this.confirmTimers.delete(v.mountpoint);
      if (this.stopped || v.probing || v.healing) return;
      void this.probe(v, m).catch((e: unknown) => this.log.error({ err: e }, 'confirm probe failed'));
    }, this.confirmMs);
    this.confirmTimers.set(v.mountpoint, t);
  }

  private clearConfirm(mp: string): void {
    const t = this.confirmTimers.get(mp);
    if (t) clearTimeout(t);
    this.confirmTimers.delete(mp);
  }

  // Heal when the policy, the backoff and the breaker allow it.
  private async maybeHeal(v: MountView, m: MountInfo, p: Policy): Promise<void> {
    const { config, host } = this.d;
    const policy = config.heal.policy;
    if (policy === 'off') {
      if (!p.diagnosed) {
        p.diagnosed = true;
        await this.diagnoseCause(v);
      }
      return;
    }
    const now = host.now();
    if (policy === 'dry-run') {
      if (p.dryRunDone) return;
      p.dryRunDone = true;
      await this.runHeal(v, m, p, true);
      return;
    }
    if (p.breaker.shouldOpen(now)) {
      v.breakerOpen = true;
      const n = p.breaker.count(now);
      const summary = `${v.mountpoint} was healed ${n} times within ${Math.round(config.heal.breaker.window / 1000)}s; healing stops for ${Math.round(config.heal.breaker.cooldown / 1000)}s`;
      this.log.error({ mountpoint: v.mountpoint, heals: n }, `flapping: ${summary}`);
      this.d.incidents.action(v, 'circuit breaker opened (flapping)');
      this.d.alerter.emit(
        this.d.alerter.event('flapping', v.mountpoint, summary, {
          ...(v.incidentId !== null ? { incidentId: v.incidentId } : {}),
          details: { heals: n },
        }),
      );
    }
    if (!p.breaker.allows(now)) return;
    v.breakerOpen = false;
    if (!p.backoff.ready(now)) {
      v.nextHealAt = p.backoff.nextAt;
      return;
    }
    await this.runHeal(v, m, p, false);
  }

  private async diagnoseCause(v: MountView): Promise<void> {
    try {
      const d = await this.d.diagnose(this.d.host, v.mountpoint, { timeoutMs: this.d.config.probeTimeout });
      const c = d.causes[0];
      this.d.incidents.setCause(v, c?.id ?? 'unknown', c?.summary ?? 'diagnose found no cause');
    } catch (e) {
      this.log.warn({ mountpoint: v.mountpoint, err: (e as Error).message }, 'diagnose failed');
      this.d.incidents.setCause(v, 'unknown', `diagnose failed: ${(e as Error).message}`);
    }
  }

  // A mount someone else replaced (a CSI driver's own remount): re-graft the other namespaces'
  // dead copies of the old one (heal --propagate of a healthy mount does only that).
  private async regraft(v: MountView, m: MountInfo): Promise<void> {
    const { host, config } = this.d;
    const dev = `${m.major}:${m.minor}`;
    if (this.healingDevices.has(dev)) return;
    this.healingDevices.add(dev);
    v.healing = true;
    try {
      const r = await this.d.heal(host, v.mountpoint, {
        dryRun: false,
        force: false,
        propagate: true,
        timeoutMs: config.heal.timeout,
        origin: 'watch',
        ...(this.d.configFile !== undefined ? { configFile: this.d.configFile } : {}),
      });
      if (r.refusal !== 'healthy') {
        this.log.info({ mountpoint: v.mountpoint, result: r.result, reason: r.reason }, `re-graft ${r.result}`);
        this.d.incidents.action(v, `re-graft ${r.result}: ${r.reason}`, false);
      }
    } catch (e) {
      this.log.warn({ mountpoint: v.mountpoint, err: (e as Error).message }, 're-graft failed');
    } finally {
      v.healing = false;
      this.healingDevices.delete(dev);
    }
  }

  // One heal per filesystem at a time: the binds of one superblock (kubelet's staging mount and its
  // publish binds) are healed together by one heal of their whole-filesystem mount (DESIGN §6);
  // the others are judged again next cycle, healthy by then.
  private async runHeal(v: MountView, m: MountInfo, p: Policy, dryRun: boolean): Promise<void> {
    const dev = `${m.major}:${m.minor}`;
    if (this.healingDevices.has(dev)) return;
    this.healingDevices.add(dev);
    try {
      await this.healOnce(v, m, p, dryRun);
    } finally {
      this.healingDevices.delete(dev);
    }
  }

  private async healOnce(v: MountView, m: MountInfo, p: Policy, dryRun: boolean): Promise<void> {
    const { host, store, metrics, config } = this.d;
    const started = host.now();
    v.healing = true;
    if (!dryRun) {
      v.heals++;
      v.lastHealAt = started;
      p.breaker.recordHeal(started);
    }
    // Write-ahead journal: heal writes its whole plan before the first step and each step's index
    // as it ends; a kill -9 from then on is finished or rolled back by the next watch.
    const journal = {
      begin: (plan: JournalPlan): void =>
        store.journalBegin({
          mountpoint: v.mountpoint,
          kind: 'observed',
          incidentId: v.incidentId,
          pid: process.pid,
          startedAt: started,
          recipe: plan,
          mountIds: [m.id],
        }),
      // "step:INDEX:ok|failed:ACTION": recovery tells from it whether the old mount was unmounted.
      step: (i: number, r: { ok: boolean; step: { action: string } }): void =>
        store.journalPhase(v.mountpoint, `step:${i}:${r.ok ? 'ok' : 'failed'}:${r.step.action}`),
    };
    let report: HealReport | null = null;
    let error: string | null = null;
    try {
      report = await this.d.heal(host, v.mountpoint, {
        dryRun,
        force: config.heal.force,
        propagate: config.heal.propagate,
        timeoutMs: config.heal.timeout,
        origin: 'watch',
        ...(dryRun ? {} : { journal }),
        ...(this.d.configFile !== undefined ? { configFile: this.d.configFile } : {}),
      });
    } catch (e) {
      error = (e as Error).message;
    } finally {
      if (!dryRun) store.journalEnd(v.mountpoint);
      // The device changes with our own remount too: with heal.propagate, the next healthy probe
      // then looks once more for dead copies in other namespaces that this heal did not reach.
      v.healing = false;
    }
    const finished = host.now();
    const result = report?.result ?? 'failed';
    const action = mainAction(report);
    const cause = report?.diagnosis?.causes[0];
    if (cause) this.d.incidents.setCause(v, cause.id, cause.summary);
    else if (v.cause === null) await this.diagnoseCause(v);
    const reason = report?.reason ?? error ?? 'heal failed';
    store.recordHeal({
      incidentId: v.incidentId,
      mountpoint: v.mountpoint,
      startedAt: started,
      finishedAt: finished,
      action,
      result,
      reason,
      durationMs: finished - started,
      steps:
        report?.steps.map((s) => ({ action: s.step.action, argv: s.step.argv, ok: s.ok, skipped: s.skipped })) ?? [],
    });
    metrics.heals.inc({ mountpoint: v.mountpoint, action, result });
    v.lastHealResult = result;
    this.d.incidents.action(v, `heal ${result}: ${reason}`, !dryRun);
    this.log.info(
      { mountpoint: v.mountpoint, result, action, durationMs: finished - started, reason },
      `heal ${result}`,
    );
    if (dryRun) return;
    if (result === 'healed' && report?.validated) {
      p.backoff.reset();
      p.hysteresis.record(true, finished);
      v.consecutiveFailures = 0;
      this.d.state.setState(v, 'healthy', null, finished);
      v.recipeRecorded = false;
      v.mountId = null;
      this.d.incidents.close(v, 'healed', finished);
      return;
    }
    const next = p.backoff.failed(finished);
    v.nextHealAt = next;
    this.d.alerter.emit(
      this.d.alerter.event('heal-failed', v.mountpoint, `heal of ${v.mountpoint} ${result}: ${reason}`, {
        ...(v.incidentId !== null ? { incidentId: v.incidentId } : {}),
        cause: v.cause,
        details: { result, action, nextAttemptAt: new Date(next).toISOString() },
      }),
    );
  }

  // Record the recipe of every healthy FUSE mount not recorded since its last (re)mount, in the
  // background, one batch at a time (issue 4: "a later crash can be remounted").
  private recordRecipes(): void {
    if (this.recording) return;
    const todo = [...this.d.state.mounts.values()].filter(
      (v) =>
        v.state === 'healthy' &&
        !v.recipeRecorded &&
        v.managed === null &&
        v.mountId !== null &&
        /^fuse/.test(v.fstype),
    );
    if (todo.length === 0) return;
    this.recording = true;
    const mounts: MountReport[] = todo.map((v) => ({
      id: v.mountId!,
      mountpoint: v.mountpoint,
      source: v.source,
      fstype: v.fstype,
      backend: v.backend,
      options: [],
      mountOptions: [],
      state: 'healthy',
    }));
    for (const v of todo) v.recipeRecorded = true;
    const report: ScanReport = {
      host: this.d.host.hostname(),
      scannedAt: new Date(this.d.host.now()).toISOString(),
      durationMs: 0,
      mounts,
    };
    void this.d
      .recordRecipes(this.d.host, report)
      .then((n) => {
        if (n > 0) this.log.debug({ recorded: n }, 'recipes recorded');
      })
      .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'recording recipes failed'))
      .finally(() => (this.recording = false));
  }
}

// The heal's most telling action (the last real step): remount, unmount-lazy, abort-connection...
export function mainAction(report: HealReport | null): string {
  if (!report) return 'none';
  const steps = report.steps.filter((s) => s.step.action !== 'none' && s.step.action !== 'report-holders');
  return steps.at(-1)?.step.action ?? (report.result === 'dry-run' ? 'plan' : 'none');
}
