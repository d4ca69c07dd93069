// Prometheus metrics for watch, named exactly as DESIGN §3. A scrape reads cached state only: the
// gauges are filled from WatchState in collect(), which never probes and never awaits a mount.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from './process-metrics.js';
import type { MountView, WatchState } from './state.js';

// Every state a mount can be reported in, so enotconn_mount_state is a full state set (0 or 1 each).
export const REPORTED_STATES = ['healthy', 'dead', 'hung', 'stale', 'io-error', 'denied', 'unknown', 'absent'] as const;

// The buckets of enotconn_probe_duration_seconds (s), and the same in µs for the probe engine.
export const PROBE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
export const PROBE_BUCKETS_US: readonly number[] = PROBE_BUCKETS.map((b) => Math.round(b * 1e6));

export interface ProbeStats {
  inFlight(): number;
  orphans(): number;
}

// A label value escaped as the text exposition format requires (backslash, double quote, newline).
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

// The per-mount families, rendered here rather than through prom-client: with 100 mounts they are
// ~1,100 series (8 state series a mount), and prom-client hashes, stores and re-formats every one
// on each scrape, which was most of a scrape's CPU. Each mount's lines are cached until its state,
// labels or heal fields change, so a scrape joins strings. Names, labels and values are as before.
interface MountLines {
  of: Pick<MountView, 'mountpoint' | 'fstype' | 'backend' | 'state' | 'lastHealAt' | 'breakerOpen'>; // drawn from
  up: string;
  state: string;
  lastHeal: string;
  breaker: string;
}

const PER_MOUNT_HEAD = {
  up: '# HELP enotconn_mount_up 1 when the last probe of the mount succeeded, else 0\n# TYPE enotconn_mount_up gauge\n',
  state:
    '# HELP enotconn_mount_state The mount state from the last probe: 1 for the current state, 0 for the others\n# TYPE enotconn_mount_state gauge\n',
  lastHeal:
    '# HELP enotconn_last_heal_timestamp_seconds Unix time of the last heal attempt of the mount\n# TYPE enotconn_last_heal_timestamp_seconds gauge\n',
  breaker:
    '# HELP enotconn_heal_breaker_open 1 while the circuit breaker of the mount is open (flapping: healing stopped)\n# TYPE enotconn_heal_breaker_open gauge\n',
};

function mountLines(v: MountView): MountLines {
  const mp = esc(v.mountpoint);
  const backend = v.backend ?? '';
  const { mountpoint, fstype, state, lastHealAt, breakerOpen } = v;
  return {
    of: { mountpoint, fstype, backend: v.backend, state, lastHealAt, breakerOpen },
    up: `enotconn_mount_up{mountpoint="${mp}",fstype="${esc(v.fstype)}",backend="${esc(backend)}"} ${v.state === 'healthy' ? 1 : 0}\n`,
    state: REPORTED_STATES.map(
      (s) => `enotconn_mount_state{mountpoint="${mp}",state="${s}"} ${v.state === s ? 1 : 0}\n`,
    ).join(''),
    lastHeal:
      v.lastHealAt !== null ? `enotconn_last_heal_timestamp_seconds{mountpoint="${mp}"} ${v.lastHealAt / 1000}\n` : '',
    breaker: `enotconn_heal_breaker_open{mountpoint="${mp}"} ${v.breakerOpen ? 1 : 0}\n`,
  };
}

// The metrics of one watch process, in their own registry.
export class WatchMetrics {
  readonly registry = new Registry();
  readonly probeDuration: Histogram;
  readonly heals: Counter<'mountpoint' | 'action' | 'result'>;
  readonly incidents: Counter<'mountpoint' | 'cause'>;
  readonly restarts: Counter<'name' | 'mountpoint'>;
  private readonly state: WatchState;
  private readonly lines = new Map<string, MountLines>();

  constructor(
    state: WatchState,
    probes: ProbeStats,
    alertsQueued: () => number,
    opts: { processMetrics?: boolean } = {},
  ) {
    const r = this.registry;
    this.state = state;
    this.probeDuration = new Histogram({
      name: 'enotconn_probe_duration_seconds',
      help: 'Time a mount probe took to answer (probes that timed out are not observed)',
      buckets: [...PROBE_BUCKETS],
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
    // Additions beyond DESIGN §3 (names may be added, never renamed).
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
    if (opts.processMetrics !== false) registerProcessMetrics(r);
  }

  // The per-mount families' bytes, kept while every mount's lines are the same objects as at the
  // last scrape: at 1,000 mounts they are 650 KB, which a scrape then neither joins nor encodes.
  private mountText: { blocks: MountLines[]; bytes: Buffer } | null = null;

  // The text exposition of every metric: the per-mount families first, then the registry's.
  async render(): Promise<string> {
    return (await this.renderBytes()).toString('utf8');
  }

  // render(), as the bytes a scrape sends.
  async renderBytes(): Promise<Buffer> {
    const blocks: MountLines[] = [];
    const seen = new Set<string>();
    for (const v of this.state.mounts.values()) {
      seen.add(v.mountpoint);
      let l = this.lines.get(v.mountpoint);
      const o = l?.of;
      const same =
        o !== undefined &&
        o.mountpoint === v.mountpoint &&
        o.fstype === v.fstype &&
        o.backend === v.backend &&
        o.state === v.state &&
        o.lastHealAt === v.lastHealAt &&
        o.breakerOpen === v.breakerOpen;
      if (!l || !same) {
        l = mountLines(v);
        this.lines.set(v.mountpoint, l);
      }
      blocks.push(l);
    }
    for (const mp of this.lines.keys()) if (!seen.has(mp)) this.lines.delete(mp);
    const last = this.mountText;
    if (!last || last.blocks.length !== blocks.length || blocks.some((l, i) => l !== last.blocks[i])) {
      const family = (head: string, pick: (l: MountLines) => string): string => head + blocks.map(pick).join('');
      const own = [
        family(PER_MOUNT_HEAD.up, (l) => l.up),
        family(PER_MOUNT_HEAD.state, (l) => l.state),
        family(PER_MOUNT_HEAD.lastHeal, (l) => l.lastHeal),
        family(PER_MOUNT_HEAD.breaker, (l) => l.breaker),
      ].join('\n');
      this.mountText = { blocks, bytes: Buffer.from(`${own}\n`, 'utf8') };
    }
    return Buffer.concat([this.mountText!.bytes, Buffer.from(await this.registry.metrics(), 'utf8')]);
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
