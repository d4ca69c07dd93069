// Prometheus metrics for watch, named exactly as DESIGN §3. A scrape reads cached state only: the
// gauges are filled from WatchState in collect(), which never probes and never awaits a mount.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WatchState } from './state.js';

// Every state a mount can be reported in, so enotconn_mount_state is a full state set (0 or 1 each).
export const REPORTED_STATES = ['healthy', 'dead', 'hung', 'stale', 'io-error', 'denied', 'unknown', 'absent'] as const;

export interface ProbeStats {
  inFlight(): number;
  orphans(): number;
}

// The metrics of one watch process, in their own registry.
export class WatchMetrics {
  readonly registry = new Registry();
  readonly probeDuration: Histogram;
  readonly heals: Counter<'mountpoint' | 'action' | 'result'>;
  readonly incidents: Counter<'mountpoint' | 'cause'>;
  readonly restarts: Counter<'name' | 'mountpoint'>;

  constructor(
    state: WatchState,
    probes: ProbeStats,
    alertsQueued: () => number,
    opts: { processMetrics?: boolean } = {},
  ) {
    const r = this.registry;
    new Gauge({
      name: 'enotconn_mount_up',
      help: '1 when the last probe of the mount succeeded, else 0',
      labelNames: ['mountpoint', 'fstype', 'backend'],
      registers: [r],
      collect() {
        this.reset();
        for (const v of state.mounts.values()) {
          this.set(
            { mountpoint: v.mountpoint, fstype: v.fstype, backend: v.backend ?? '' },
            v.state === 'healthy' ? 1 : 0,
          );
        }
      },
    });
    new Gauge({
      name: 'enotconn_mount_state',
      help: 'The mount state from the last probe: 1 for the current state, 0 for the others',
      labelNames: ['mountpoint', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const v of state.mounts.values()) {
          for (const s of REPORTED_STATES) this.set({ mountpoint: v.mountpoint, state: s }, v.state === s ? 1 : 0);
        }
      },
    });
    this.probeDuration = new Histogram({
      name: 'enotconn_probe_duration_seconds',
      help: 'Time a mount probe took to answer (probes that timed out are not observed)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    new Gauge({
      name: 'enotconn_probes_in_flight',
      help: 'Probes started and not yet answered, stuck ones included',
      registers: [r],
      collect() {
        this.set(probes.inFlight());
      },
    });
    new Gauge({
      name: 'enotconn_probe_orphans',
      help: 'Probes that timed out and never returned (each holds a thread blocked in the kernel)',
      registers: [r],
      collect() {
        this.set(probes.orphans());
      },
    });
    this.heals = new Counter({
      name: 'enotconn_heals_total',
      help: 'Heal attempts by mountpoint, main action and result',
      labelNames: ['mountpoint', 'action', 'result'],
      registers: [r],
    });
    this.incidents = new Counter({
      name: 'enotconn_incidents_total',
      help: 'Incidents opened, by mountpoint and cause',
      labelNames: ['mountpoint', 'cause'],
      registers: [r],
    });
    new Gauge({
      name: 'enotconn_last_heal_timestamp_seconds',
      help: 'Unix time of the last heal attempt of the mount',
      labelNames: ['mountpoint'],
      registers: [r],
      collect() {
        this.reset();
        for (const v of state.mounts.values()) {
          if (v.lastHealAt !== null) this.set({ mountpoint: v.mountpoint }, v.lastHealAt / 1000);
        }
      },
    });
    // Additions beyond DESIGN §3 (names may be added, never renamed).
    new Gauge({
      name: 'enotconn_heal_breaker_open',
      help: '1 while the circuit breaker of the mount is open (flapping: healing stopped)',
      labelNames: ['mountpoint'],
      registers: [r],
      collect() {
        this.reset();
        for (const v of state.mounts.values()) this.set({ mountpoint: v.mountpoint }, v.breakerOpen ? 1 : 0);
      },
    });
    this.restarts = new Counter({
      name: 'enotconn_managed_restarts_total',
      help: 'Restarts of managed FUSE daemons',
      labelNames: ['name', 'mountpoint'],
      registers: [r],
    });
    new Gauge({
      name: 'enotconn_alerts_queued',
      help: 'Alerts waiting in the SQLite queue for delivery',
      registers: [r],
      collect() {
        this.set(alertsQueued());
      },
    });
    new Gauge({
      name: 'enotconn_watch_last_cycle_timestamp_seconds',
      help: 'Unix time the last probe cycle started',
      registers: [r],
      collect() {
        if (state.lastCycleAt !== null) this.set(state.lastCycleAt / 1000);
      },
    });
    // Why a coarse event-loop precision: the default (10 ms) wakes the process 100 times a second.
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 1000 });
  }

  // The text exposition of every metric.
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
