// Client, router and server network namespaces joined by two veth pairs, for the --netns
// scenarios. Only names this process makes (prefix enc<pid>) and addresses from the RFC 2544
// benchmarking range 198.18.0.0/15 are used; destroyTopology removes everything.
import { EnotconnError } from '../../errors.js';
import type { ExecResult, Host } from '../../host/types.js';
import type { Topology } from './types.js';

let counter = 0;

// Run argv through the host; throw a tool error naming the command when it fails.
export async function mustRun(host: Host, argv: readonly string[], timeoutMs = 10_000): Promise<ExecResult> {
  const r = await host.exec(argv, { timeoutMs });
  if (r.code !== 0) {
    const why = r.spawnError ?? (r.stderr.trim().split('\n')[0] || `exit ${r.code ?? r.signal}`);
    throw new EnotconnError('ENC_INTERNAL', `lab: '${argv.join(' ')}' failed: ${why}`);
  }
  return r;
}

// argv that runs `argv` inside network namespace `ns`.
export function inNs(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

// Names and addresses for a new topology (nothing is created yet), so a caller can clean up
// whatever part of it exists if it is interrupted while it is being built.
export function planTopology(port = 8080): Topology {
  const k = (counter++).toString(36);
  const id = `enc${process.pid}${k}`;
  const t: Topology = {
    id,
    clientNs: `${id}-client`,
    routerNs: `${id}-router`,
    serverNs: `${id}-server`,
    clientDev: `${id}a`,
    routerClientDev: `${id}b`,
    routerServerDev: `${id}c`,
    serverDev: `${id}d`,
    clientAddr: '198.18.0.2',
    routerClientAddr: '198.18.0.1',
    routerServerAddr: '198.19.0.1',
    serverAddr: '198.19.0.2',
    port,
  };
  return t;
}

// Build a planned topology: client 198.18.0.2 ↔ router (198.18.0.1 | 198.19.0.1) ↔ server 198.19.0.2.
export async function buildTopology(host: Host, t: Topology): Promise<Topology> {
  if (host.uid() !== 0) {
    throw new EnotconnError('ENC_PERMISSION', 'the --netns scenarios need root (network namespaces and iptables)');
  }
  try {
    for (const ns of [t.clientNs, t.routerNs, t.serverNs]) {
      await mustRun(host, ['ip', 'netns', 'add', ns]);
      await mustRun(host, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await mustRun(host, veth(t.clientDev, t.clientNs, t.routerClientDev, t.routerNs));
    await mustRun(host, veth(t.routerServerDev, t.routerNs, t.serverDev, t.serverNs));
    const addrs: Array<[string, string, string]> = [
      [t.clientNs, t.clientDev, `${t.clientAddr}/24`],
      [t.routerNs, t.routerClientDev, `${t.routerClientAddr}/24`],
      [t.routerNs, t.routerServerDev, `${t.routerServerAddr}/24`],
      [t.serverNs, t.serverDev, `${t.serverAddr}/24`],
    ];
    for (const [ns, dev, addr] of addrs) {
      await mustRun(host, ['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev]);
      await mustRun(host, ['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    await mustRun(host, ['ip', '-n', t.clientNs, 'route', 'add', 'default', 'via', t.routerClientAddr]);
    await mustRun(host, ['ip', '-n', t.serverNs, 'route', 'add', 'default', 'via', t.routerServerAddr]);
    await mustRun(host, inNs(t.routerNs, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    return t;
  } catch (e) {
    await destroyTopology(host, t);
    throw e;
  }
}

function veth(a: string, nsA: string, b: string, nsB: string): string[] {
  return ['ip', 'link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB];
}

// Set sysctls inside a namespace (they are per network namespace: tcp_retries2, keepalive, ...).
export async function setSysctls(host: Host, ns: string, values: Readonly<Record<string, string>>): Promise<void> {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (pairs.length > 0) await mustRun(host, inNs(ns, ['sysctl', '-q', '-w', ...pairs]));
}

// Plan and build a topology in one step.
export function createTopology(host: Host, port = 8080): Promise<Topology> {
  return buildTopology(host, planTopology(port));
}

// Delete the namespaces (their veths and iptables rules go with them). Never throws.
export async function destroyTopology(host: Host, t: Topology): Promise<void> {
  for (const ns of [t.clientNs, t.routerNs, t.serverNs]) {
    await host.exec(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 });
  }
}

// Namespaces this process made that still exist (for tests that check the cleanup).
export async function leftoverNamespaces(host: Host, prefix = `enc${process.pid}`): Promise<string[]> {
  const r = await host.exec(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
