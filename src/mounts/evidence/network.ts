// The network collector: a TCP connect, at most 1 s, to each port the backend's endpoint lists
// (ssh 22, NFS 2049 and 111, CIFS 445, the S3 endpoint), run concurrently.
import type { Host, TcpResult } from '../../host/types.js';
import type { Endpoint } from '../backends/types.js';
import type { Evidence } from '../diagnosis.js';

export interface NetworkCheck {
  host: string;
  port: number;
  result: 'ok' | 'refused' | 'timed-out' | 'unreachable' | 'unresolved' | 'error';
  errno: string | null;
  latencyMs: number;
}

export interface NetworkFindings {
  endpoint: Endpoint;
  checks: NetworkCheck[];
  evidence: Evidence[];
}

// Why 1 s: a LAN or loopback connect answers in milliseconds; waiting longer only delays the verdict.
export const CONNECT_TIMEOUT_MS = 1000;

// Classify a connect result the way an operator says it.
export function classifyConnect(r: TcpResult): NetworkCheck['result'] {
  if (r.ok) return 'ok';
  if (r.timedOut || r.errno === 'ETIMEDOUT') return 'timed-out';
  switch (r.errno) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'unresolved';
    default:
      return 'error';
  }
}

// Connect to every port the endpoint lists; null when it has a host but nothing to check.
export async function collectNetwork(
  host: Host,
  endpoint: Endpoint | null,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<NetworkFindings | null> {
  if (!endpoint?.host || endpoint.checkPorts.length === 0) return null;
  const h = endpoint.host;
  const ms = Math.min(timeoutMs, CONNECT_TIMEOUT_MS);
  const checks = await Promise.all(
    endpoint.checkPorts.map(async (port): Promise<NetworkCheck> => {
      const r = await host.tcpConnect(h, port, ms);
      return {
        host: h,
        port,
        result: classifyConnect(r),
        errno: r.ok ? null : r.errno,
        latencyMs: r.latencyMs,
      };
    }),
  );
  const evidence = checks.map((c): Evidence => ({
    source: 'network',
    detail:
      c.result === 'ok'
        ? `TCP connect to ${hostPort(c.host, c.port)} succeeded in ${c.latencyMs}ms`
        : `TCP connect to ${hostPort(c.host, c.port)} ${describe(c)}`,
  }));
  return { endpoint, checks, evidence };
}

// host:port, with brackets for IPv6 literals.
export function hostPort(h: string, port: number): string {
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

function describe(c: NetworkCheck): string {
  switch (c.result) {
    case 'refused':
      return 'was refused (ECONNREFUSED): nothing listens there';
    case 'timed-out':
      return `timed out after ${Math.round(c.latencyMs)}ms: the host is down or a firewall drops packets`;
    case 'unreachable':
      return `failed: no route to the host (${c.errno})`;
    case 'unresolved':
      return `failed: the name does not resolve (${c.errno})`;
    default:
      return `failed (${c.errno})`;
  }
}
