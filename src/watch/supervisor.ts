// Managed mounts (issue 4 "Managed mounts: the supervisor"): watch runs the FUSE daemon itself in
// the foreground, so it learns of its exit at once (no polling); it clears the dead mountpoint, and
// restarts the daemon with backoff, behind the same circuit breaker as heals.
// Why clear first: after a daemon dies its mount stays as a dead ENOTCONN entry, and a new daemon
// fails on it ("bad mount point: Transport endpoint is not connected") unless it is unmounted, the
// step systemd units need `ExecStartPre=-fusermount -uz` for.
import path from 'node:path';
import type { Host, SpawnedProcess } from '../host/types.js';
import { readProcStat } from '../host/proc.js';
import { backendFor } from '../mounts/backends/index.js';
import { collectKmsg, eventsForDaemon } from '../mounts/evidence/kmsg.js';
import { mountKey } from '../mounts/scan.js';
import { connectionHolder } from '../mounts/process-table.js';
import type { MountInfo } from '../mounts/mountinfo/parse.js';
import { checkPath, type DirIdentity } from '../mounts/heal/path-check.js';
import { cleanUnmountStep, clearPlan, supervisedStartStep } from '../mounts/heal/plan.js';
import { daemonProgramFor, resolvePlanPrograms } from '../mounts/heal/prepare.js';
import { lookupUser } from '../mounts/heal/recipes.js';
import type { Recipe } from '../mounts/heal/recipe.js';
import { runPlan, type PlanRun, type StepContext } from '../mounts/heal/steps.js';
import type { Alerter } from './alerts.js';
import type { ManagedMountConfig, WatchConfig } from './config.js';
import type { IncidentBook } from './incidents.js';
import type { Logger } from './logger.js';
import type { WatchMetrics } from './metrics.js';
import { mountsAt, pollUntil } from './mount-table.js';
import { backoffDelay, CircuitBreaker } from './policy.js';
import type { MountView, WatchState } from './state.js';
import type { WatchStore } from './store.js';

export interface SupervisorDeps {
  host: Host;
  config: WatchConfig;
  state: WatchState;
  store: WatchStore;
  metrics: WatchMetrics;
  alerter: Alerter;
  incidents: IncidentBook;
  log: Logger;
  onRecipe?: (recipe: Recipe, pid: number) => void;
}

type Exit = { code: number | null; signal: string | null };

// One managed mount: start, watch, restart, stop.
export class Supervisor {
  readonly view: MountView;
  private proc: SpawnedProcess | null = null;
  private adoptedPid: number | null = null;
  private lastPid: number | null = null;
  private stopping = false;
  private readonly breaker: CircuitBreaker;
  private quickFailures = 0;
  private startedAt = 0;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly log: Logger;
  private parents: DirIdentity[] | null = null;
  restarts = 0;
  // Moves on each time the daemon exits and each time a new one is validated by a fresh probe: the
  // loop drops a probe answer whose epoch is past (it was about the mount before the exit).
  epoch = 0;

  constructor(
    readonly cfg: ManagedMountConfig,
    private readonly deps: SupervisorDeps,
  ) {
    const mp = normalise(cfg.mountpoint);
    const backend = backendFor(
      {
        id: 0,
        parentId: 0,
        major: 0,
        minor: 0,
        root: '/',
        mountpoint: mp,
        options: [],
        optionalFields: [],
        fstype: 'fuse',
        type: 'fuse',
        subtype: null,
        source: '',
        superOptions: [],
        deleted: false,
      },
      { daemonArgv: cfg.argv },
    );
    this.view = deps.state.ensure(
      mp,
      { fstype: 'fuse', source: '', managed: cfg.name, backend: backend?.name ?? null, state: 'absent' },
      deps.host.now(),
    );
    const b = deps.config.heal.breaker;
    this.breaker = new CircuitBreaker({ maxHeals: b.maxHeals, windowMs: b.window, cooldownMs: b.cooldown });
    this.log = deps.log.child({ managed: cfg.name, mountpoint: mp });
  }

  get mountpoint(): string {
    return this.view.mountpoint;
  }

  get pid(): number | null {
    return this.proc?.pid ?? this.adoptedPid;
  }

  // Start supervising in the background; resolves once the first start attempt has finished.
  async start(): Promise<void> {
    let first!: () => void;
    const firstDone = new Promise<void>((r) => (first = r));
    this.running = this.run(first);
    await firstDone;
  }

  // The loop saw the mount dead or hung while the daemon lives: kill it so the restart path runs.
  restartUnhealthy(reason: string): void {
    const pid = this.pid;
    if (pid === null || this.stopping) return;
    this.log.warn({ pid, reason }, 'managed mount unhealthy while its daemon runs: killing the daemon to restart it');
    this.deps.incidents.action(this.view, `killed daemon pid ${pid} (${reason})`);
    // SIGCONT first: a stopped daemon cannot act on anything until continued; SIGKILL needs no cooperation.
    this.deps.host.signal(pid, 'SIGCONT');
    this.deps.host.signal(pid, 'SIGKILL');
  }

  private async run(firstDone: () => void): Promise<void> {
    let signalled = false;
    const done = (): void => {
      if (!signalled) {
        signalled = true;
        firstDone();
      }
    };
    try {
      await this.settleLeftovers();
      while (!this.stopping) {
        const exit = await this.startOnce(done);
        done();
        if (this.stopping) break;
        await this.afterExit(exit);
        if (this.stopping) break;
        // Breaker: K restarts within the window means a crash loop; stop and alert "flapping".
        const now = this.deps.host.now();
        if (this.breaker.shouldOpen(now)) {
          this.openBreaker(now);
        }
        if (!this.breaker.allows(now)) {
          await this.sleep(Math.max(0, (this.breaker.openSince ?? now) + this.deps.config.heal.breaker.cooldown - now));
          this.view.breakerOpen = this.breaker.isOpen;
          continue;
        }
        // The first restart after a crash is immediate; a daemon that keeps dying soon waits longer each time.
        const delay = this.quickFailures <= 1 ? 0 : backoffDelay(this.quickFailures - 2, this.backoffOpts());
        this.view.nextHealAt = now + delay;
        if (delay > 0) {
          this.log.info({ delayMs: delay, quickFailures: this.quickFailures }, 'restart backoff');
          await this.sleep(delay);
        }
        this.view.nextHealAt = null;
      }
    } catch (e) {
      this.log.error({ err: e }, 'supervisor failed');
    } finally {
      done();
    }
  }

  private backoffOpts(): { initialMs: number; maxMs: number; factor: number } {
    const b = this.deps.config.managedRestart.backoff;
    return { initialMs: b.initial, maxMs: b.max, factor: b.factor };
  }

  private openBreaker(now: number): void {
    this.view.breakerOpen = true;
    const n = this.breaker.count(now);
    const summary = `${this.cfg.name} (${this.mountpoint}) restarted ${n} times within ${Math.round(
      this.deps.config.heal.breaker.window / 1000,
    )}s: restarts stop for ${Math.round(this.deps.config.heal.breaker.cooldown / 1000)}s`;
    this.log.error({ restarts: n }, `flapping: ${summary}`);
    this.deps.incidents.action(this.view, 'circuit breaker opened (flapping)');
    this.deps.alerter.emit(
      this.deps.alerter.event('flapping', this.mountpoint, summary, {
        managed: this.cfg.name,
        ...(this.view.incidentId !== null ? { incidentId: this.view.incidentId } : {}),
        details: { restarts: n, argv: this.cfg.argv },
      }),
    );
  }

  // Every unmount and start goes through the one step executor (heal/steps.ts), audited.
  private async runSteps(plan: Parameters<typeof runPlan>[1], extra: Partial<StepContext> = {}): Promise<PlanRun> {
    const { host } = this.deps;
    if (this.parents === null) {
      const c = await checkPath(host, this.mountpoint, {
        includeLast: false,
        timeoutMs: this.deps.config.probeTimeout,
      });
      if (c.ok) this.parents = c.dirs;
    }
    return runPlan(
      {
        host,
        force: false,
        healId: `supervisor-${this.cfg.name}-${process.pid}-${host.now()}`,
        origin: 'supervisor',
        parents: this.parents,
        ...extra,
      },
      plan,
    );
  }

  // Lazily unmount whatever is stacked at the mountpoint; returns one line per step.
  private async clear(why: string): Promise<string[]> {
    const stack = await mountsAt(this.deps.host, this.mountpoint);
    if (stack.length === 0) return [];
    const r = await this.runSteps(
      clearPlan(stack, { selfUid: this.deps.host.uid(), programs: resolvePlanPrograms(), why }),
    );
    return r.results.map(
      (x) => `${x.step.argv?.join(' ') ?? x.step.action} → ${x.ok ? 'ok' : (x.refused ?? x.output)}`,
    );
  }

  // On startup: adopt a healthy mount an earlier watch left up (its daemon is the process holding
  // the mount's /dev/fuse connection), or clear whatever else is at the mountpoint.
  private async settleLeftovers(): Promise<void> {
    const { host } = this.deps;
    const stack = await mountsAt(host, this.mountpoint);
    if (stack.length === 1) {
      const m = stack[0]!;
      const [r] = await host.probe([{ key: mountKey(m), path: this.mountpoint }], {
        timeoutMs: this.deps.config.probeTimeout,
        concurrency: this.deps.config.concurrency,
      });
      if (r?.state === 'healthy') {
        const pid = await connectionHolder(host, m);
        if (pid !== null) {
          this.adoptedPid = pid;
          this.log.info({ pid }, 'adopted the healthy mount an earlier watch left up');
          return;
        }
      }
    }
    if (stack.length > 0) {
      const steps = await this.clear('clear a leftover mount before the managed daemon starts');
      this.log.info({ steps }, 'cleared leftover mounts at the mountpoint');
    }
  }

  // Start the daemon (or keep watching an adopted one) and return when it exits.
  private async startOnce(firstDone: () => void): Promise<Exit> {
    if (this.adoptedPid !== null) {
      const pid = this.adoptedPid;
      this.lastPid = pid;
      this.view.daemonPid = pid;
      this.deps.state.setState(this.view, 'healthy', null, this.deps.host.now());
      this.startedAt = this.deps.host.now();
      firstDone();
      // Not our child: its exit is seen by polling /proc (the only case that polls).
      await pollUntil(
        async () => this.stopping || (await readProcStat(this.deps.host, pid)) === null,
        2 ** 31 - 1,
        100,
      );
      this.adoptedPid = null;
      return { code: null, signal: null };
    }
    return this.spawnAndWait(firstDone);
  }

  private async spawnAndWait(firstDone: () => void): Promise<Exit> {
    const { host } = this.deps;
    const now = host.now();
    const journaled = this.view.incidentId !== null || this.restarts > 0;
    if (journaled) {
      this.deps.store.journalBegin({
        mountpoint: this.mountpoint,
        kind: 'managed',
        incidentId: this.view.incidentId,
        pid: process.pid,
        startedAt: now,
        recipe: null,
        mountIds: (await mountsAt(host, this.mountpoint)).map((m) => m.id),
      });
    }
    // Clear a dead mount at the mountpoint before starting (ExecStartPre=-fusermount3 -uz).
    const cleared = await this.clear('clear the dead mount before the managed daemon starts');
    if (cleared.length > 0) this.deps.incidents.action(this.view, `cleared mountpoint: ${cleared.join('; ')}`);
    if (this.cfg.createMountpoint) await host.mkdirp(this.mountpoint).catch(() => undefined);
    const before = new Set((await mountsAt(host, this.mountpoint)).map((m) => m.id));
    this.startedAt = host.now();
    const started = await this.startDaemon();
    if (!started) {
      if (journaled) this.deps.store.journalEnd(this.mountpoint);
      return { code: null, signal: null };
    }
    const proc = started;
    this.proc = proc;
    this.lastPid = proc.pid;
    this.view.daemonPid = proc.pid;
    this.log.info({ pid: proc.pid, argv: this.cfg.argv }, 'daemon started');
    if (this.cfg.oomScoreAdj !== undefined) await this.setOomScore(proc.pid, this.cfg.oomScoreAdj);
    let exited: Exit | null = null;
    void proc.exited.then((e) => (exited = e));
    // Ready: a new mount appeared at the mountpoint and a probe through it answers.
    let readyMount: { key: string } | null = null;
    await pollUntil(
      async () => {
        if (exited || this.stopping) return true;
        const fresh = (await mountsAt(host, this.mountpoint)).filter((m) => !before.has(m.id)).at(-1);
        if (!fresh) return false;
        const [r] = await host.probe([{ key: mountKey(fresh), path: this.mountpoint }], {
          timeoutMs: this.deps.config.probeTimeout,
          concurrency: this.deps.config.concurrency,
        });
        if (r?.state !== 'healthy') return false;
        readyMount = { key: mountKey(fresh) };
        this.view.fstype = fresh.fstype;
        this.view.source = fresh.source;
        this.view.backend = backendFor(fresh, { daemonArgv: this.cfg.argv })?.name ?? this.view.backend;
        return true;
      },
      this.cfg.readyTimeout,
      10,
    );
    if (journaled) this.deps.store.journalEnd(this.mountpoint);
    this.view.healing = false;
    if (readyMount && !exited) {
      const t = host.now();
      this.epoch++;
      this.deps.state.setState(this.view, 'healthy', null, t);
      this.view.consecutiveFailures = 0;
      this.view.lastProbeAt = t;
      if (this.restarts > 0 || this.view.incidentId !== null) {
        this.view.lastHealResult = 'restarted';
        this.deps.store.recordHeal({
          incidentId: this.view.incidentId,
          mountpoint: this.mountpoint,
          startedAt: now,
          finishedAt: t,
          action: 'restart',
          result: 'restarted',
          reason: `daemon pid ${proc.pid} started and the mount answered a probe`,
          durationMs: t - now,
          steps: cleared,
        });
        this.deps.metrics.heals.inc({ mountpoint: this.mountpoint, action: 'restart', result: 'healed' });
        this.deps.incidents.action(this.view, `restarted daemon (pid ${proc.pid}), validated by a probe`, true);
        this.deps.incidents.close(this.view, 'restarted', t);
      }
      this.log.info({ pid: proc.pid, readyMs: t - this.startedAt }, 'managed mount is up and validated');
      this.deps.onRecipe?.(this.recipe(), proc.pid);
      firstDone();
    } else if (!exited && !this.stopping) {
      this.log.error(
        { pid: proc.pid, readyTimeoutMs: this.cfg.readyTimeout },
        'daemon did not mount in time: killing it',
      );
      proc.kill('SIGKILL');
    }
    const exit = await proc.exited;
    this.proc = null;
    this.view.daemonPid = null;
    // At once, before anything else is awaited: the mount the daemon served is not healthy any more,
    // whatever the last probe said, until a fresh probe through a new mount says so (spawnAndWait).
    this.epoch++;
    if (!this.stopping) {
      this.view.healing = true;
      if (this.view.state === 'healthy') this.deps.state.setState(this.view, 'dead', null, host.now());
    }
    return exit;
  }

  // The daemon exited: record it, open (or extend) the incident, and count the restart.
  private async afterExit(exit: Exit): Promise<void> {
    const { host } = this.deps;
    const now = host.now();
    const lived = now - this.startedAt;
    this.quickFailures = lived < this.deps.config.managedRestart.stableAfter ? this.quickFailures + 1 : 0;
    const pid = this.lastPid;
    const how = exit.signal
      ? `was killed by ${exit.signal}`
      : exit.code === null
        ? 'could not start'
        : `exited with code ${exit.code}`;
    const summary = `${path.basename(this.cfg.argv[0]!)} ${how} after ${lived} ms`;
    this.view.healing = true;
    this.deps.state.setState(
      this.view,
      (await mountsAt(host, this.mountpoint)).length > 0 ? 'dead' : 'absent',
      null,
      now,
    );
    this.view.heals++;
    this.view.lastHealAt = now;
    this.restarts++;
    this.breaker.recordHeal(now);
    this.deps.metrics.restarts.inc({ name: this.cfg.name, mountpoint: this.mountpoint });
    this.log.warn({ exit, livedMs: lived }, `managed daemon ${how}`);
    this.deps.incidents.open(this.view, { state: this.view.state, errno: null, firstSeenAt: now, now, summary });
    this.deps.incidents.action(this.view, `daemon ${how}`);
    if (!this.stopping) {
      // Clear the dead mountpoint at once, so users see an empty directory rather than ENOTCONN.
      const cleared = await this.clear('clear the dead mount the managed daemon left');
      if (cleared.length > 0) this.deps.incidents.action(this.view, `cleared mountpoint: ${cleared.join('; ')}`);
      this.deps.state.setState(this.view, 'absent', null, host.now());
    }
    const oom = exit.signal === 'SIGKILL' ? await this.oomCause(pid) : null;
    if (this.view.cause === null || oom) {
      this.deps.incidents.setCause(this.view, oom ? 'daemon-oom-killed' : 'daemon-gone', oom ?? summary);
    }
    this.deps.alerter.emit(
      this.deps.alerter.event('daemon-exited', this.mountpoint, `${this.cfg.name}: ${summary}`, {
        managed: this.cfg.name,
        ...(this.view.incidentId !== null ? { incidentId: this.view.incidentId } : {}),
        details: { exit },
      }),
    );
  }

  private async oomCause(pid: number | null): Promise<string | null> {
    if (pid === null) return null;
    try {
      const k = await collectKmsg(this.deps.host, 2000);
      const hit = eventsForDaemon(k.events, { pid, names: [this.cfg.argv[0]!] }).find(
        (e) => e.event.kind === 'oom-kill',
      );
      return hit ? `the OOM killer took ${hit.event.comm ?? 'the daemon'} (pid ${pid}): ${hit.event.line}` : null;
    } catch {
      return null;
    }
  }

  private async setOomScore(pid: number, value: number): Promise<void> {
    try {
      // /proc/<pid>/oom_score_adj: -1000 exempts the process; lowering it needs CAP_SYS_RESOURCE (proc(5)).
      await this.deps.host.writeText(this.deps.host.proc(pid, 'oom_score_adj'), String(value));
      this.log.info({ pid, oomScoreAdj: value }, 'oom_score_adj set');
    } catch (e) {
      this.log.warn({ pid, err: (e as Error).message }, 'cannot set oom_score_adj');
    }
  }

  // Start the daemon through the executor's remount step: its program resolved to a root-owned
  // path, run as the owner by setpriv with a clean environment, in its cwd only through env -C.
  private async startDaemon(): Promise<SpawnedProcess | null> {
    const { host } = this.deps;
    const recipe = await this.ownerRecipe();
    const program = daemonProgramFor(recipe);
    if (program === null) {
      this.log.error({ argv: this.cfg.argv }, 'cannot start the daemon: its program is not a root-owned binary');
      return null;
    }
    let cwd: string | null = null;
    if (this.cfg.cwd !== undefined) {
      const c = await checkPath(host, this.cfg.cwd, { includeLast: true, timeoutMs: this.deps.config.probeTimeout });
      if (c.ok) cwd = this.cfg.cwd;
      else this.log.warn({ cwd: this.cfg.cwd, problem: c.detail }, 'the configured cwd is not used');
    }
    const user = await lookupUser(host, recipe.uid);
    const step = supervisedStartStep(recipe, program, {
      selfUid: host.uid(),
      programs: resolvePlanPrograms(),
      home: user?.home ?? null,
      cwd,
      previous: null,
    });
    let proc: SpawnedProcess | null = null;
    // The daemon's output goes to a 0600 file, never to a pipe of watch's (a pipe would SIGPIPE
    // the daemon once watch is gone).
    const logDir = path.join(host.stateDir, 'logs');
    const logReady = await host.mkdirp(logDir, 0o700).then(
      () => true,
      () => false,
    );
    const r = await this.runSteps([step], {
      ...(logReady ? { outputFile: path.join(logDir, `managed-${this.cfg.name}.log`) } : {}),
      mountAppearMs: this.cfg.readyTimeout,
      spawnOutput: (stream, line) => this.log.info({ stream }, `daemon: ${line}`),
      onSpawn: (p) => {
        proc = p;
      },
    });
    if (proc === null) {
      this.log.error({ step: r.results[0]?.output }, 'cannot start the daemon');
      return null;
    }
    return proc;
  }

  private async ownerRecipe(): Promise<Recipe> {
    const r = this.recipe();
    const user = await lookupUser(this.deps.host, r.uid);
    return user ? { ...r, user: user.name } : r;
  }

  // The managed mount as a heal recipe (origin "config"), so `enotconn heal` can remount it too.
  recipe(): Recipe {
    const uid = this.cfg.owner?.uid ?? this.deps.host.uid();
    return {
      mountpoint: this.mountpoint,
      source: this.view.source,
      fstype: this.view.fstype,
      backend: this.view.backend,
      argv: [...this.cfg.argv],
      uid,
      gid: this.cfg.owner?.gid ?? uid,
      cwd: this.cfg.cwd ?? null,
      env: { ...this.cfg.env },
      origin: 'config',
      recordedAt: new Date(this.deps.host.now()).toISOString(),
      missing: [],
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  // SIGTERM: unmount cleanly (the daemon then exits by itself) or leave it up, as configured.
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const { host } = this.deps;
    const pid = this.pid;
    if (this.cfg.onStop === 'leave-mounted') {
      this.log.info({ pid }, 'leaving the managed mount up (onStop: leave-mounted)');
      return;
    }
    const top: MountInfo | undefined = (await mountsAt(host, this.mountpoint)).at(-1);
    if (top) {
      const r = await this.runSteps([cleanUnmountStep(top, { selfUid: host.uid(), programs: resolvePlanPrograms() })]);
      if (!r.results[0]?.ok) {
        this.log.warn({ output: r.results[0]?.output }, 'clean unmount failed (busy?): stopping the daemon instead');
        if (pid !== null) host.signal(pid, 'SIGTERM');
      }
    } else if (pid !== null) {
      host.signal(pid, 'SIGTERM');
    }
    const proc = this.proc;
    if (proc) {
      const gone = await Promise.race([proc.exited.then(() => true), delay(5000).then(() => false)]);
      if (!gone) {
        proc.kill('SIGKILL');
        await Promise.race([proc.exited, delay(2000)]);
      }
    }
    await this.clear('clear the mountpoint after the managed daemon stopped');
    await Promise.race([this.running ?? Promise.resolve(), delay(2000)]);
    this.log.info('managed mount stopped and unmounted');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function normalise(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

// Mount ids now at the mountpoint (for tests and recovery).
export async function mountIdsAt(host: Host, mountpoint: string): Promise<number[]> {
  return (await mountsAt(host, mountpoint)).map((m) => m.id);
}
