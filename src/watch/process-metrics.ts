// The process metrics every Prometheus client exports, under prom-client's default names (so
// dashboards keep working), read only when scraped from what Node already keeps: CPU time,
// resident memory, the heap, open descriptors, active handles, and the event-loop lag of this very
// scrape. Left out on purpose, because each costs the daemon all the time rather than per scrape:
// the GC-duration histogram (a PerformanceObserver called on every GC) and the event-loop delay
// percentiles (a timer sampling the loop). prom-client's collectDefaultMetrics registers both.
import { Counter, Gauge, type Registry } from 'prom-client';
import { maxOpenFds, openFdCount } from '../host/self-stats.js';

const START_S = Math.round(Date.now() / 1000 - process.uptime());

// The lag of the event loop now: how long a callback queued behind the current work waits.
function eventLoopLag(): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => setImmediate(() => resolve(Number(process.hrtime.bigint() - t0) / 1e9)));
}

function typeCounts(names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of names) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

function typeNames(items: readonly unknown[]): string[] {
  return items.map((h) => (h as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'Unknown');
}

// process.memoryUsage() once per scrape for the four families drawn from it (each call reads
// /proc/self/stat for the RSS and walks V8's heap spaces).
let memory: NodeJS.MemoryUsage | null = null;
function memoryNow(): NodeJS.MemoryUsage {
  if (memory === null) {
    memory = process.memoryUsage();
    setImmediate(() => (memory = null));
  }
  return memory;
}

// Register the process families in `r`.
export function registerProcessMetrics(r: Registry): void {
  const cpu = (name: string, help: string, pick: (u: NodeJS.CpuUsage) => number): void => {
    new Counter({
      name,
      help,
      registers: [r],
      collect() {
        this.reset();
        this.inc(pick(process.cpuUsage()) / 1e6);
      },
    });
  };
  cpu('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', (u) => u.user);
  cpu('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', (u) => u.system);
  cpu('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (u) => u.user + u.system);
  const gauge = (name: string, help: string, value: () => number | null | Promise<number | null>): void => {
    new Gauge({
      name,
      help,
      registers: [r],
      async collect() {
        const v = await value();
        if (v !== null) this.set(v);
      },
    });
  };
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => START_S);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => memoryNow().rss);
  gauge('process_open_fds', 'Number of open file descriptors.', openFdCount);
  gauge('process_max_fds', 'Maximum number of open file descriptors.', maxOpenFds);
  gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', eventLoopLag);
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => memoryNow().heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () => memoryNow().heapUsed);
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', () => memoryNow().external);
  const byType = (name: string, help: string, names: () => string[]): void => {
    new Gauge({
      name,
      help,
      labelNames: ['type'],
      registers: [r],
      collect() {
        this.reset();
        for (const [type, n] of typeCounts(names())) this.set({ type }, n);
      },
    });
  };
  const proc = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };
  byType(
    'nodejs_active_handles',
    'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.',
    () => typeNames(proc._getActiveHandles?.() ?? []),
  );
  byType(
    'nodejs_active_requests',
    'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
    () => typeNames(proc._getActiveRequests?.() ?? []),
  );
  byType(
    'nodejs_active_resources',
    'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
    () => process.getActiveResourcesInfo(),
  );
  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'],
    registers: [r],
  }).set({ version: process.version, major: major ?? '', minor: minor ?? '', patch: patch ?? '' }, 1);
}
