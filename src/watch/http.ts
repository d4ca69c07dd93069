// watch's HTTP endpoints: /metrics, /healthz, /api/mounts, /api/incidents and the status page.
// Every handler reads cached state (or the incident table); none probes or waits on a mount, so a
// hung mount can never hold a scrape, and none changes state. Every request is checked first
// (request-check.ts); the server caps connections, header size and the time a client may take.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { EnotconnError } from '../errors.js';
import type { WatchMetrics } from './metrics.js';
import { checkRequest, type HostPolicy } from './request-check.js';
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
  // Host names (or name:port) served beside the listen address and localhost.
  allowedHosts?: readonly string[];
}

// Limits of the listener. Why these: a scrape or a status page is one small GET; a client that needs
// more is not one of ours. Node's defaults (no connection cap, 16 KiB headers, 60 s header timeout)
// let 2,000 idle sockets be held.
export const HTTP_LIMITS = {
  maxConnections: 256,
  maxHeaderSize: 8192,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  maxRequestsPerSocket: 100,
};

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
export function makeHandler(d: HttpDeps, policy: HostPolicy): http.RequestListener {
  return (req, res) => {
    const send = (code: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
      res.writeHead(code, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...extra,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const v = checkRequest(req.method, req.url, req.headers, policy);
    if (!v.ok) {
      // Why close: a client that sent a bad request gets no second one on this connection.
      send(v.status, 'text/plain; charset=utf-8', `${v.reason}\n`, {
        connection: 'close',
        ...(v.status === 405 ? { allow: 'GET, HEAD' } : {}),
      });
      return;
    }
    const url = { pathname: v.pathname, searchParams: v.params };
    try {
      switch (url.pathname) {
        case '/metrics':
          d.metrics.renderBytes().then(
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
  const policy: HostPolicy = { port, listenHost: host, names: d.allowedHosts ?? [] };
  const handler = makeHandler(d, policy);
  const server = http.createServer(
    {
      maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
      headersTimeout: HTTP_LIMITS.headersTimeoutMs,
      requestTimeout: HTTP_LIMITS.requestTimeoutMs,
      keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1000,
      // Why reject: a request with two Host headers or Transfer-Encoding and Content-Length is a
      // smuggling attempt, never a scraper.
      insecureHTTPParser: false,
    },
    (req, res) => {
      try {
        handler(req, res);
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end(`${(e as Error).message}\n`);
      }
    },
  );
  server.maxConnections = HTTP_LIMITS.maxConnections;
  server.maxRequestsPerSocket = HTTP_LIMITS.maxRequestsPerSocket;
  // A socket silent this long is dropped, so idle and half-open connections do not pile up.
  server.setTimeout(HTTP_LIMITS.idleTimeoutMs, (s: Socket) => s.destroy());
  // A request the parser rejects (bad request line, headers too large, a timeout): answer 4xx when
  // the socket can still take it, then drop it. Without this listener Node does the same, but a
  // socket error during that write must not reach the process.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    socket.on('error', () => undefined);
    if (
      socket.writable &&
      !socket.writableEnded &&
      (socket as Socket & { _httpMessage?: unknown })._httpMessage == null
    ) {
      const code =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      socket.end(`HTTP/1.1 ${code}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  server.on('connection', (s: Socket) => s.on('error', () => undefined));
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new EnotconnError('ENC_USAGE', `cannot listen on ${listen}: ${e.code ?? e.message}; choose another --listen`),
      ),
    );
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      policy.port = a.port;
      resolve({ server, address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` });
    });
  });
}
