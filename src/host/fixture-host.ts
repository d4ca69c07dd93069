import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NodeHost } from './node-host.js';
import type {
  ExecOptions,
  ExecResult,
  GraftRequest,
  GraftResult,
  ProbeOptions,
  ProbeResult,
  ProbeTarget,
  SpawnOptions,
  SpawnedProcess,
  TcpResult,
} from './types.js';
import { probeEachOf } from './probe-each.js';

// What a fixture tree records beside proc/, sys/ and dev/kmsg (all optional).
export interface FixtureRecording {
  hostname?: string;
  uid?: number;
  now?: string; // ISO time the fixture was recorded at
  probes?: Record<string, ProbeResult>; // by mountpoint
  tcp?: Record<string, TcpResult>; // by "host:port"
  exec?: Array<{ argv: string[]; code: number; stdout?: string; stderr?: string }>;
}

// One action a fixture or fake host was asked to take; nothing is carried out.
export type RecordedAction =
  | { kind: 'exec'; argv: string[]; opts: ExecOptions }
  | { kind: 'spawn'; argv: string[] }
  | { kind: 'write'; path: string; data: string }
  | { kind: 'signal'; pid: number; signal: string | number }
  | { kind: 'graft'; req: GraftRequest };

// A host that reads a recorded tree (test/fixtures/proc/<case>) and records every action instead
// of taking it. Used for what this kernel cannot do live (NFS, CIFS) and for unit tests.
// Unless a state and run directory are given, it gets private temporary ones (0700, removed on
// close): a fixture's recipes must never reach /var/lib/enotconn, where a real heal would run them.
export class FixtureHost extends NodeHost {
  readonly actions: RecordedAction[] = [];
  readonly recording: FixtureRecording;
  private readonly scratch: string | null;

  constructor(root: string, opts: { stateDir?: string; runDir?: string; recording?: FixtureRecording } = {}) {
    const scratch =
      opts.stateDir === undefined || opts.runDir === undefined
        ? fs.mkdtempSync(path.join(os.tmpdir(), 'enotconn-fixture-'))
        : null;
    super({
      root: path.resolve(root),
      stateDir: opts.stateDir ?? path.join(scratch!, 'state'),
      runDir: opts.runDir ?? path.join(scratch!, 'run'),
    });
    this.scratch = scratch;
    this.recording = opts.recording ?? readRecording(path.resolve(root));
  }

  override close(): void {
    super.close();
    if (this.scratch !== null) fs.rmSync(this.scratch, { recursive: true, force: true });
  }

  // A recorded answer per mountpoint; a mountpoint the fixture did not record is `unknown`.
  override probe(targets: readonly ProbeTarget[], _opts: ProbeOptions): Promise<ProbeResult[]> {
    const missing: ProbeResult = { state: 'unknown', errno: 'ENOFIXTURE', syscall: 'statfs', latencyMs: 0 };
    return Promise.resolve(targets.map((t) => this.recording.probes?.[t.path] ?? missing));
  }

  // The recorded answers, through probe() as FakeHost does.
  override probeEach(
    targets: readonly ProbeTarget[],
    opts: ProbeOptions,
    each: (i: number, r: ProbeResult) => void,
  ): Promise<void> {
    return probeEachOf((t, o) => this.probe(t, o), targets, opts, each);
  }

  // Recorded, never carried out: a fixture's namespaces are not there to enter.
  override graft(req: GraftRequest): Promise<GraftResult> {
    this.actions.push({ kind: 'graft', req });
    return Promise.resolve({ ok: false, errno: 'ENOSYS', step: 'fixture' });
  }

  override prepareProbes(_concurrency: number): void {
    // recorded answers need no probe child
  }

  override tcpConnect(host: string, port: number, timeoutMs: number): Promise<TcpResult> {
    const rec = this.recording.tcp?.[`${host}:${port}`];
    return Promise.resolve(rec ?? { ok: false, errno: 'ETIMEDOUT', latencyMs: timeoutMs, timedOut: true });
  }

  override exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.actions.push({ kind: 'exec', argv: [...argv], opts });
    const rec = this.recording.exec?.find((e) => e.argv.join('\0') === argv.join('\0'));
    return Promise.resolve({
      argv: [...argv],
      code: rec ? rec.code : null,
      signal: null,
      stdout: rec?.stdout ?? '',
      stderr: rec?.stderr ?? '',
      timedOut: false,
      durationMs: 0,
      spawnError: rec ? null : 'EFIXTURE',
    });
  }

  override spawnProcess(argv: readonly string[], _opts?: SpawnOptions): SpawnedProcess {
    this.actions.push({ kind: 'spawn', argv: [...argv] });
    return { pid: -1, exited: Promise.resolve({ code: null, signal: null }), kill: () => false };
  }

  override async writeText(p: string, data: string): Promise<void> {
    this.actions.push({ kind: 'write', path: p, data });
    if (p.startsWith(this.stateDir) || p.startsWith(this.runDir)) {
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, data);
    }
  }

  override signal(pid: number, signal: NodeJS.Signals | 0): boolean {
    this.actions.push({ kind: 'signal', pid, signal });
    return fs.existsSync(this.proc(pid));
  }

  override uid(): number {
    return this.recording.uid ?? 0;
  }

  override hostname(): string {
    return this.recording.hostname ?? 'fixture';
  }

  override now(): number {
    return this.recording.now ? Date.parse(this.recording.now) : Date.now();
  }
}

function readRecording(root: string): FixtureRecording {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'fixture.json'), 'utf8')) as FixtureRecording;
  } catch {
    return {};
  }
}
