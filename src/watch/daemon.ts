// The watch daemon assembled: store, state, metrics, alerts, journal recovery, supervisors, loop and
// HTTP, started in that order and stopped in reverse. One Host lives for the daemon's lifetime, so
// its probe child (and the record of stuck probes) persists across cycles.
import path from 'node:path';
import { EnotconnError } from '../errors.js';
import type { Host } from '../host/types.js';
import { diagnose as realDiagnose } from '../mounts/diagnose.js';
import { healMount } from '../mounts/heal/apply.js';
import { RecipeStore } from '../mounts/heal/recipe-store.js';
import { recordLiveRecipes } from '../mounts/heal/record.js';
import type { Recipe } from '../mounts/heal/recipe.js';
import { Alerter } from './alerts.js';
import type { WatchConfig } from './config.js';
import { startHttp } from './http.js';
import { IncidentBook } from './incidents.js';
import type { Logger } from './logger.js';
import { WatchLoop, type DiagnoseFn, type HealFn, type RecordRecipesFn } from './loop.js';
import { WatchMetrics, type ProbeStats } from './metrics.js';
import { recoverInterruptedHeals, type RecoveryOutcome } from './recovery.js';
import { WatchState } from './state.js';
import { WatchStore } from './store.js';
import { Supervisor } from './supervisor.js';

export const VERSION = '0.1.0';

export interface WatchOptions {
  host: Host;
  config: WatchConfig;
  log: Logger;
  listen?: string; // overrides config.listen
  configFile?: string; // the config's path, for heal's managed-mount recipes
  heal?: HealFn;
  diagnose?: DiagnoseFn;
  recordRecipes?: RecordRecipesFn;
  processMetrics?: boolean;
}

export interface RunningWatch {
  address: string;
  state: WatchState;
  store: WatchStore;
  metrics: WatchMetrics;
  alerter: Alerter;
  loop: WatchLoop;
  supervisors: Map<string, Supervisor>;
  recovered: RecoveryOutcome[];
  stop(): Promise<void>;
}

// Take the per-host watch lock (runDir/watch.pid); a live holder means another watch runs.
async function takeLock(host: Host): Promise<string> {
  await host.mkdirp(host.runDir, 0o755);
  const file = path.join(host.runDir, 'watch.pid');
  for (let i = 0; i < 2; i++) {
    if (await host.createExclusive(file, `${process.pid}\n`)) return file;
    const pid = Number((await host.readText(file))?.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && host.signal(pid, 0)) {
      const cmd = (await host.readText(host.proc(pid, 'cmdline'))) ?? '';
      if (cmd.includes('watch')) {
        throw new EnotconnError(
          'ENC_LOCKED',
          `another enotconn watch (pid ${pid}) already runs with ${host.runDir}; stop it first`,
        );
      }
    }
    await host.removeFile(file); // left by a watch that died (kill -9): take it over
  }
  throw new EnotconnError('ENC_LOCKED', `cannot take the lock ${file}`);
}

function probeStats(host: Host): ProbeStats {
  const runner = (): { inFlightCount: number; orphans: number } | null =>
    (host as Host & { probeRunner?: { inFlightCount: number; orphans: number } | null }).probeRunner ?? null;
  return { inFlight: () => runner()?.inFlightCount ?? 0, orphans: () => runner()?.orphans ?? 0 };
}

// Start everything; resolves once HTTP listens and every managed mount had its first start.
export async function startWatch(o: WatchOptions): Promise<RunningWatch> {
  const { host, config, log } = o;
  const lock = await takeLock(host);
  const store = WatchStore.open(host.stateDir);
  const state = new WatchState();
  state.startedAt = host.now();
  const alerter = new Alerter(host, store, config.alerts, log);
  const metrics = new WatchMetrics(state, probeStats(host), () => alerter.pending, {
    processMetrics: o.processMetrics ?? true,
  });
  const incidents = new IncidentBook(store, metrics, alerter, log);

  const recordManagedRecipe = (recipe: Recipe, pid: number): void => {
    void RecipeStore.open(host)
      .then((rs) => {
        try {
          rs.putMany([{ recipe, daemonPid: pid, daemonStart: null }]);
        } finally {
          rs.close();
        }
      })
      .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'cannot record the managed recipe'));
  };
  const supervisors = new Map<string, Supervisor>();
  for (const m of config.managed) {
    const s = new Supervisor(m, {
      host,
      config,
      state,
      store,
      metrics,
      alerter,
      incidents,
      log,
      onRecipe: recordManagedRecipe,
    });
    incidents.adopt(s.view);
    supervisors.set(s.mountpoint, s);
  }
  const loop = new WatchLoop({
    host,
    config,
    state,
    store,
    metrics,
    alerter,
    incidents,
    log,
    heal: o.heal ?? healMount,
    diagnose: o.diagnose ?? realDiagnose,
    recordRecipes: o.recordRecipes ?? recordLiveRecipes,
    supervisors,
    ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
  });
  const { server, address } = await startHttp(
    {
      state,
      store,
      metrics,
      hostname: host.hostname(),
      intervalMs: config.interval,
      probeTimeoutMs: config.probeTimeout,
      healPolicy: config.heal.policy,
      alertsQueued: () => alerter.pending,
      version: VERSION,
      now: () => host.now(),
      allowedHosts: config.allowedHosts,
    },
    o.listen ?? config.listen,
  ).catch(async (e: unknown) => {
    store.close();
    await host.removeFile(lock);
    throw e;
  });
  const recovered = await recoverInterruptedHeals(host, store, log, {
    probeTimeoutMs: config.probeTimeout,
    settleMs: 20_000,
  });

  alerter.start();
  log.info(
    {
      address,
      interval: config.interval,
      healPolicy: config.heal.policy,
      managed: config.managed.map((m) => m.name),
      recovered,
    },
    `enotconn watch listening on http://${address}`,
  );
  await Promise.all([...supervisors.values()].map((s) => s.start()));
  loop.start();

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping');
      loop.stop();
      await Promise.all(
        [...supervisors.values()].map((s) =>
          s.stop().catch((e: unknown) => log.error({ err: e }, 'supervisor stop failed')),
        ),
      );
      alerter.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      store.close();
      host.close();
      await host.removeFile(lock);
      log.info('stopped');
    })();
    return stopping;
  };
  return { address, state, store, metrics, alerter, loop, supervisors, recovered, stop };
}
