// Checks every HTTP request before watch does any work for it: the method, the request target, the
// Host header and the Origin. A request that fails gets a 4xx and nothing else runs.
// Why a Host allowlist: a page on evil.example whose name re-resolves to 127.0.0.1 (DNS rebinding)
// reaches the listener with `Host: evil.example:9717`; only names an operator chose, localhost and
// IP literals (which cannot be rebound) are served.
import net from 'node:net';

export interface HostPolicy {
  port: number;
  // The listen address: an IP, or a wildcard (0.0.0.0, ::) that serves every IP literal.
  listenHost: string;
  // Extra names (or name:port) an operator configured, such as the node's DNS name.
  names: readonly string[];
}

export type RequestVerdict =
  | { ok: true; pathname: string; params: URLSearchParams }
  | { ok: false; status: 400 | 403 | 404 | 405 | 414 | 421; reason: string };

const MAX_TARGET = 2048;
const LOCAL_NAMES = new Set(['localhost', 'localhost.']);

// Split a Host header into a lower-case name and a port (null when absent); null when malformed.
export function splitHost(value: string): { name: string; port: number | null } | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return null;
  const port = m[2] !== undefined ? Number(m[2]) : null;
  if (port !== null && port > 65535) return null;
  const name = m[1]!.toLowerCase();
  return { name: name.startsWith('[') ? name.slice(1, -1) : name, port };
}

// Whether a Host header names this listener.
export function hostAllowed(value: string | undefined, p: HostPolicy): boolean {
  if (value === undefined) return false;
  const h = splitHost(value);
  if (!h) return false;
  if ((h.port ?? 80) !== p.port) {
    return p.names.some((n) => n.toLowerCase() === `${h.name}:${h.port ?? 80}`);
  }
  if (LOCAL_NAMES.has(h.name)) return true;
  if (p.names.some((n) => n.toLowerCase() === h.name || n.toLowerCase() === `${h.name}:${p.port}`)) return true;
  if (net.isIP(h.name) === 0) return false;
  const wildcard = p.listenHost === '0.0.0.0' || p.listenHost === '::' || p.listenHost === '';
  return wildcard || h.name === p.listenHost.toLowerCase() || (isLoopback(h.name) && isLoopback(p.listenHost));
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || /^127\./.test(ip) || LOCAL_NAMES.has(ip);
}

// An Origin header (sent by browsers on cross-origin reads) must be this listener itself.
function originAllowed(origin: string | undefined, p: HostPolicy): boolean {
  if (origin === undefined) return true;
  const m = /^http:\/\/([^/]+)$/.exec(origin);
  return m !== null && hostAllowed(m[1], p);
}

// Judge one request from its method, target and headers alone.
export function checkRequest(
  method: string | undefined,
  target: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  p: HostPolicy,
): RequestVerdict {
  if (method !== 'GET' && method !== 'HEAD') return { ok: false, status: 405, reason: 'only GET and HEAD' };
  if (target === undefined || target.length === 0) return { ok: false, status: 400, reason: 'no request target' };
  if (target.length > MAX_TARGET) return { ok: false, status: 414, reason: `request target over ${MAX_TARGET} bytes` };
  // Origin-form only ("/path?query", RFC 9112 section 3.2.1): watch is not a proxy.
  if (!target.startsWith('/') || target.startsWith('//')) {
    return { ok: false, status: 400, reason: 'the request target must be a path, such as /metrics' };
  }
  const host = headers.host;
  if (typeof host !== 'string' || !hostAllowed(host, p)) {
    return { ok: false, status: 421, reason: 'this Host is not served here (set allowedHosts in the config)' };
  }
  const origin = headers.origin;
  if (Array.isArray(origin) || !originAllowed(origin, p)) {
    return { ok: false, status: 403, reason: 'cross-origin requests are refused' };
  }
  if (headers['sec-fetch-site'] === 'cross-site') {
    return { ok: false, status: 403, reason: 'cross-site requests are refused' };
  }
  let url: URL;
  try {
    url = new URL(target, 'http://watch.invalid');
  } catch {
    return { ok: false, status: 400, reason: 'malformed request target' };
  }
  if (url.host !== 'watch.invalid') return { ok: false, status: 400, reason: 'malformed request target' };
  return { ok: true, pathname: url.pathname, params: url.searchParams };
}
