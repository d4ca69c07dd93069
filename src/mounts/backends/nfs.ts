import type { Backend, Endpoint } from './types.js';
import { optionValue } from '../mountinfo/parse.js';

// Parse `server:/export` (IPv6 servers in brackets); the server address may also be in `addr=`.
export function parseNfsSource(source: string, superOptions: readonly string[]): Endpoint | null {
  const m = /^(\[[^\]]+\]|[^:]+):(\/.*)?$/.exec(source);
  if (!m) return null;
  const host = optionValue(superOptions, 'addr') ?? m[1]!.replace(/^\[|\]$/g, '');
  const port = Number(optionValue(superOptions, 'port') ?? '0') || 2049;
  // NFSv4 needs only 2049; v3 also needs the portmapper (111) for mountd and lockd.
  const v4 = (optionValue(superOptions, 'vers') ?? '').startsWith('4');
  return {
    kind: 'nfs',
    host,
    port,
    path: m[2] ?? '/',
    checkPorts: v4 ? [port] : [port, 111],
    display: `${host}:${m[2] ?? '/'}`,
  };
}

export const nfs: Backend = {
  name: 'nfs',
  kind: 'network',
  daemonNames: [],
  matches: (m) => m.fstype === 'nfs' || m.fstype === 'nfs4',
  endpoint: (m) => parseNfsSource(m.source, m.superOptions),
};
