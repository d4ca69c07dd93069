// Run lab scenarios: each in a child process (under strace with --syscalls), the netns ones
// inside a fresh client/router/server topology that is always torn down, even on SIGINT.
import os from 'node:os';
import path from 'node:path';
import { EnotconnError } from '../../errors.js';
import { childArgv } from '../../runtime/self.js';
import type { Host, SpawnedProcess } from '../../host/types.js';
import { findScenario, SCENARIOS } from './index.js';
import { buildTopology, destroyTopology, inNs, planTopology, setSysctls } from './netns.js';
import { parseStrace, straceArgv } from './strace.js';
import type { Expectation, KernelCall, Observation, OpResult, Scenario, ScenarioResult, Topology } from './types.js';

// The lab child's argv prefix (program first): its script, or this bundle in the child role.
const CHILD = childArgv('lab-child', () => new URL('./child.js', import.meta.url));
const NETNS_PORT = 8080;

export interface LabOptions {
  names: readonly string[];
  netns: boolean;
  syscalls: boolean;
  onResult?: (r: ScenarioResult) => void;
}

export interface LabReport {
  kernel: string;
  node: string;
  ok: boolean;
  scenarios: ScenarioResult[];
}

// Which scenarios a command line asks for: named ones, or every loopback one (plus netns with --netns).
export function selectScenarios(names: readonly string[], netns: boolean): Scenario[] {
  if (names.length === 0) return SCENARIOS.filter((s) => netns || !s.netns);
  return names.map((n) => {
    const s = findScenario(n);
    if (!s) {
      throw new EnotconnError(
        'ENC_USAGE',
        `no lab scenario '${n}'; run 'enotconn lab --list' (known: ${SCENARIOS.map((x) => x.name).join(', ')})`,
      );
    }
    return s;
  });
}

// Run the scenarios one after another and compare each observation with its expectation.
export async function runLab(host: Host, opts: LabOptions): Promise<LabReport> {
  const scenarios = selectScenarios(opts.names, opts.netns);
  if (scenarios.some((s) => s.netns) && host.uid() !== 0) {
    throw new EnotconnError('ENC_PERMISSION', 'the --netns scenarios need root (network namespaces and iptables)');
  }
  if (opts.syscalls) {
    const r = await host.exec(['strace', '-V'], { timeoutMs: 5000 });
    if (r.code !== 0) throw new EnotconnError('ENC_NOT_FOUND', '--syscalls needs strace: apt-get install strace');
  }
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    const r = await runScenario(host, s, opts.syscalls);
    results.push(r);
    opts.onResult?.(r);
  }
  return { kernel: os.release(), node: process.version, ok: results.every((r) => r.ok), scenarios: results };
}

// Run one scenario and judge it.
export async function runScenario(host: Host, s: Scenario, syscalls: boolean): Promise<ScenarioResult> {
  const started = performance.now();
  const traceFile = path.join(os.tmpdir(), `enc-lab-${process.pid}-${s.name}-${Date.now()}.strace`);
  let topology: Topology | null = null;
  let server: SpawnedProcess | null = null;
  let building: Promise<unknown> | null = null;
  let interrupted = false;
  const cleanup = async (): Promise<void> => {
    // Let a half-built topology finish first, or a namespace added after the delete would leak.
    const pending = await building?.catch(() => undefined);
    if (pending && typeof pending === 'object' && 'kill' in pending) (pending as SpawnedProcess).kill('SIGKILL');
    server?.kill('SIGKILL');
    server = null;
    if (topology) await destroyTopology(host, topology);
    topology = null;
  };
  // Why: namespaces and veths outlive the process; an interrupted run must still remove them.
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = true;
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  if (s.netns) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    let argv = [...CHILD, 'run', s.name];
    if (s.netns) {
      topology = planTopology(NETNS_PORT);
      building = buildTopology(host, topology);
      await building;
      if (interrupted) throw new EnotconnError('ENC_INTERNAL', 'lab: interrupted');
      await setSysctls(host, topology.clientNs, s.clientSysctls ?? {});
      const starting = startPeerServer(host, topology);
      building = starting;
      server = await starting;
    }
    argv.push(JSON.stringify(topology));
    if (syscalls) argv = [...straceArgv(traceFile), ...argv];
    if (topology) argv = inNs(topology.clientNs, argv);
    const r = await host.exec(argv, { timeoutMs: 90_000 });
    const parsed = parseChildOutput(r.stdout);
    const kernel = syscalls ? parseStrace((await host.readText(traceFile)) ?? '') : null;
    if ('error' in parsed) {
      return failed(s, started, `${parsed.error}${r.stderr ? `; ${r.stderr.trim().split('\n').pop()}` : ''}`);
    }
    return judge(s, parsed.observations, kernel, performance.now() - started);
  } catch (e) {
    return failed(s, started, e instanceof Error ? e.message : String(e));
  } finally {
    // Interrupted: the signal handler cleans up and exits; nothing here may exit before it.
    if (interrupted) await new Promise<never>(() => undefined);
    if (s.netns) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await cleanup();
    if (syscalls) await host.removeFile(traceFile).catch(() => undefined);
  }
}

async function startPeerServer(host: Host, t: Topology): Promise<SpawnedProcess> {
  let resolveReady: (line: string) => void = () => undefined;
  const ready = new Promise<string>((r) => (resolveReady = r));
  const p = host.spawnProcess(inNs(t.serverNs, [...CHILD, 'serve', t.serverAddr, String(t.port)]), {
    onOutput: (stream, line) => {
      if (stream === 'stdout') resolveReady(line);
    },
  });
  const timeout = new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000).unref());
  const exited = p.exited.then(() => 'exited');
  const first = await Promise.race([ready, timeout, exited]);
  if (first !== 'ready') {
    p.kill('SIGKILL');
    throw new EnotconnError('ENC_INTERNAL', `lab: the peer server in ${t.serverNs} did not start (${first})`);
  }
  return p;
}

function parseChildOutput(stdout: string): { observations: Observation[] } | { error: string } {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const v = JSON.parse(line) as { observations?: Observation[]; error?: string };
    if (Array.isArray(v.observations)) return { observations: v.observations };
    return { error: v.error ?? 'the lab child printed no observations' };
  } catch {
    return { error: `the lab child printed no result${line ? `: ${line.slice(0, 200)}` : ''}` };
  }
}

function failed(s: Scenario, started: number, error: string): ScenarioResult {
  return {
    name: s.name,
    title: s.title,
    netns: s.netns,
    ok: false,
    durationMs: Math.round(performance.now() - started),
    operations: [],
    error,
  };
}

const alt = (v: string | null | ReadonlyArray<string | null>): ReadonlyArray<string | null> =>
  Array.isArray(v) ? (v as ReadonlyArray<string | null>) : [v as string | null];
const show = (v: string | null | ReadonlyArray<string | null>): string | null =>
  Array.isArray(v) ? v.map((x) => x ?? '-').join('|') : (v as string | null);

// True when an observation is what the expectation documents.
export function matches(e: Expectation, o: Observation): boolean {
  return alt(e.event).includes(o.event) && alt(e.code).includes(o.code) && alt(e.syscall).includes(o.syscall);
}

// Compare observations with expectations, op by op, and attach the kernel's view.
export function judge(
  s: Scenario,
  observations: readonly Observation[],
  kernel: Omit<KernelCall, 'swallowed'>[] | null,
  durationMs: number,
): ScenarioResult {
  const left = [...observations];
  const calls: KernelCall[] | null = kernel
    ? kernel.map((k) => ({
        ...k,
        swallowed: !observations.some((o) => o.op === k.op && o.code === k.errno),
      }))
    : null;
  const operations: OpResult[] = s.expected.map((e) => {
    const i = left.findIndex((o) => o.op === e.op);
    const o = i >= 0 ? left.splice(i, 1)[0]! : null;
    return {
      op: e.op,
      expected: { event: show(e.event) ?? '-', code: show(e.code), syscall: show(e.syscall) },
      observed: o
        ? {
            event: o.event,
            code: o.code,
            syscall: o.syscall,
            ...(o.detail !== undefined ? { detail: o.detail } : {}),
          }
        : null,
      ok: o !== null && matches(e, o),
      why: e.why,
      ...(calls ? { kernel: calls.filter((k) => k.op === e.op) } : {}),
    };
  });
  return {
    name: s.name,
    title: s.title,
    netns: s.netns,
    ok: operations.every((o) => o.ok),
    durationMs: Math.round(durationMs),
    operations,
    ...(calls ? { kernel: calls } : {}),
  };
}
