// watch's HTTP endpoints (issue 4 "HTTP"): /metrics, /healthz, /api/mounts, /api/incidents and the
// status page. Every handler reads cached state (or the incident table); none probes or waits on a
// mount, so a hung mount can never hold a scrape.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnotconnError } from '../errors.js';
import type { WatchMetrics } from './metrics.js';
import type { MountView, WatchState } from './state.js';
import { HISTORY_MS, renderStatusPage } from './status-page.js';
import type { IncidentRow, WatchStore } from './store.js';

export interface HttpDeps {
  state: WatchState;
  store: WatchStore;
  metrics: WatchMetrics;
  hostname: string;
  intervalMs: number;
  probeTimeoutMs: number;
  healPolicy: string;
  alertsQueued: () => number;
  version: string;
  now: () => number;
}

// `host:port` → its parts; `[::1]:9717` for IPv6.
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port < 65536)) {
    throw new EnotconnError('ENC_USAGE', `--listen takes host:port, such as 127.0.0.1:9717, not '${listen}'`);
  }
  return { host: m[1] ?? m[2]!, port };
}

// A mount view as /api/mounts prints it (times as ISO strings).
export function mountJson(v: MountView): Record<string, unknown> {
  const t = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    mountpoint: v.mountpoint,
    fstype: v.fstype,
    backend: v.backend,
    source: v.source,
    managed: v.managed,
    state: v.state,
    up: v.state === 'healthy',
    errno: v.errno,
    since: t(v.since),
    lastProbeAt: t(v.lastProbeAt),
    latencyMs: v.latencyMs,
    consecutiveFailures: v.consecutiveFailures,
    incidentId: v.incidentId,
    cause: v.cause,
    healing: v.healing,
    breakerOpen: v.breakerOpen,
    heals: v.heals,
    lastHealAt: t(v.lastHealAt),
    lastHealResult: v.lastHealResult,
    nextHealAt: t(v.nextHealAt),
    daemonPid: v.daemonPid,
  };
}

// An incident as /api/incidents prints it.
export function incidentJson(i: IncidentRow): Record<string, unknown> {
  return {
    ...i,
    firstSeenAt: new Date(i.firstSeenAt).toISOString(),
    openedAt: new Date(i.openedAt).toISOString(),
    closedAt: i.closedAt === null ? null : new Date(i.closedAt).toISOString(),
  };
}

// The request handler (exported for tests that call it without a socket).
export function makeHandler(d: HttpDeps): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
      return;
    }
    try {
      switch (url.pathname) {
        case '/metrics':
          d.metrics.render().then(
            (text) => send(200, d.metrics.contentType, text),
            (e: unknown) => send(500, 'text/plain; charset=utf-8', `${(e as Error).message}\n`),
          );
          return;
        case '/healthz': {
          // Healthy while the loop keeps cycling: a wedged loop (or event loop) fails the check.
          const now = d.now();
          const last = d.state.lastCycleAt;
          const limit = 3 * d.intervalMs + d.probeTimeoutMs + 5000;
          const ok = last !== null ? now - last <= limit : now - d.state.startedAt <= limit;
          send(
            ok ? 200 : 503,
            'application/json',
            `${JSON.stringify({ ok, lastCycleAt: last === null ? null : new Date(last).toISOString(), mounts: d.state.mounts.size })}\n`,
          );
          return;
        }
        case '/api/mounts':
          send(
            200,
            'application/json',
            `${JSON.stringify({ host: d.hostname, now: new Date(d.now()).toISOString(), mounts: d.state.list().map(mountJson) }, null, 2)}\n`,
          );
          return;
        case '/api/incidents': {
          const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
          const mp = url.searchParams.get('mountpoint');
          const incidents = d.store.listIncidents({
            limit,
            ...(mp !== null ? { mountpoint: mp } : {}),
            openOnly: url.searchParams.get('open') === '1',
          });
          send(
            200,
            'application/json',
            `${JSON.stringify({ host: d.hostname, incidents: incidents.map(incidentJson) }, null, 2)}\n`,
          );
          return;
        }
        case '/':
          send(
            200,
            'text/html; charset=utf-8',
            renderStatusPage({
              host: d.hostname,
              now: d.now(),
              startedAt: d.state.startedAt,
              lastCycleAt: d.state.lastCycleAt,
              intervalMs: d.intervalMs,
              healPolicy: d.healPolicy,
              mounts: d.state.list(),
              incidents: d.store.listIncidents({ limit: 20 }),
              history: d.store.incidentsSince(d.now() - HISTORY_MS),
              alertsQueued: d.alertsQueued(),
              version: d.version,
            }),
          );
          return;
        default:
          send(404, 'text/plain; charset=utf-8', 'not found: try /, /metrics, /healthz, /api/mounts, /api/incidents\n');
      }
    } catch (e) {
      send(500, 'text/plain; charset=utf-8', `${(e as Error).message}\n`);
    }
  };
}

// Listen on host:port; rejects with ENC_USAGE when the address is taken or not ours.
export function startHttp(d: HttpDeps, listen: string): Promise<{ server: http.Server; address: string }> {
  const { host, port } = parseListen(listen);
  const server = http.createServer(makeHandler(d));
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new EnotconnError('ENC_USAGE', `cannot listen on ${listen}: ${e.code ?? e.message}; choose another --listen`),
      ),
    );
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      resolve({ server, address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` });
    });
  });
}
