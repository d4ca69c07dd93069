import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildReply, ChildRequest } from './probe-child.js';
import { childArgv } from '../runtime/self.js';
import { findStuck } from './stuck-registry.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';
import { classifyProbeErrno } from '../mounts/probe/classify.js';

// Extra time the parent allows beyond the probe timeout before it gives up on the child itself.
const CHILD_SLACK_MS = 1000;

interface Pending {
  target: ProbeTarget;
  timeoutMs: number;
  resolve: (r: ProbeResult) => void;
  timer: NodeJS.Timeout;
}

// Runs probes in a dedicated, abandonable child process (probe-child.ts), at most one per mount.
export class ProbeRunner {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  // Mounts whose probe from this process has not returned yet: key → since (ms).
  private readonly inFlight = new Map<string, number>();
  private readonly registryDir: string;
  private workers = 0;
  // Requests written in one turn of the event loop go to the child in one write (the watch loop
  // starts a probe per mount each cycle; one pipe write each was its largest single CPU cost).
  private outBuf: string[] = [];
  private outChild: ChildProcess | null = null;
  // Whether the registry holds any entry, read at most once per turn of the event loop: an empty
  // registry (the usual case) spares each probe a hash and a failing open().
  private registryHasEntries: boolean | null = null;
  orphans = 0; // probes that timed out and never returned, in this process's lifetime
  onUnstuck: ((key: string) => void) | null = null;

  constructor(runDir: string) {
    this.registryDir = path.join(runDir, 'probes');
  }

  // Probe each target once, or report it hung without probing when its last probe never returned.
  async probe(targets: readonly ProbeTarget[], opts: ProbeOptions): Promise<ProbeResult[]> {
    return Promise.all(targets.map((t) => this.probeOne(t, opts)));
  }

  // Number of probes currently outstanding (including stuck ones).
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private probeOne(target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
    const since = this.inFlight.get(target.key);
    if (since !== undefined) {
      return Promise.resolve({ state: 'hung', timeoutMs: opts.timeoutMs, stuckSinceMs: since, skipped: true });
    }
    const stuck = this.registryMayHold() ? findStuck(this.registryDir, target.key) : null;
    if (stuck) {
      return Promise.resolve({ state: 'hung', timeoutMs: opts.timeoutMs, stuckSinceMs: stuck.sinceMs, skipped: true });
    }
    const child = this.ensureChild(opts.concurrency);
    const id = this.nextId++;
    this.inFlight.set(target.key, Date.now());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The child itself did not answer in time (overloaded or wedged): report hung, keep the
        // key in flight until the child reports it unstuck or dies.
        this.pending.delete(id);
        resolve({ state: 'hung', timeoutMs: opts.timeoutMs });
      }, opts.timeoutMs + CHILD_SLACK_MS);
      this.pending.set(id, { target, timeoutMs: opts.timeoutMs, resolve, timer });
      const req: ChildRequest = { id, key: target.key, path: target.path, timeoutMs: opts.timeoutMs };
      this.send(child, JSON.stringify(req));
    });
  }

  // True unless the stuck registry is known to be empty in this turn of the event loop. An entry
  // written after the check is as racy as one written just after findStuck: the child's own
  // one-probe-per-slot rule and the registry still hold for the next probe.
  private registryMayHold(): boolean {
    if (this.registryHasEntries === null) {
      try {
        this.registryHasEntries = fs.readdirSync(this.registryDir).some((n) => n.endsWith('.json'));
      } catch {
        this.registryHasEntries = false; // no registry directory: nothing was ever stuck
      }
      setImmediate(() => (this.registryHasEntries = null));
    }
    return this.registryHasEntries;
  }

  private send(child: ChildProcess, line: string): void {
    if (this.outChild !== child) this.flush();
    this.outChild = child;
    this.outBuf.push(line);
    if (this.outBuf.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const child = this.outChild;
    if (this.outBuf.length === 0 || !child) return;
    const text = `${this.outBuf.join('\n')}\n`;
    this.outBuf = [];
    child.stdin?.write(text);
  }

  // Start the probe child ahead of the first probe (its Node start-up is the main fixed cost).
  prepare(concurrency: number): void {
    this.ensureChild(concurrency);
  }

  private ensureChild(concurrency: number): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.workers >= concurrency) {
      return this.child;
    }
    if (this.child) {
      this.flush(); // requests already addressed to the old child go to it
      this.release(); // a new concurrency asks for a new child; the old one drains
    }
    const [exe, ...args] = childArgv('probe-child', () => new URL('./probe-child.js', import.meta.url));
    const child = spawn(exe!, args, {
      detached: true, // its own process group: a terminal ^C to enotconn does not reach it
      stdio: ['pipe', 'pipe', 'ignore'],
      env: {
        ...process.env,
        ENOTCONN_PROBE_REGISTRY: this.registryDir,
        ENOTCONN_PROBE_WORKERS: String(Math.max(1, concurrency)),
      },
    });
    this.workers = concurrency;
    this.child = child;
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => this.onLine(line));
    child.stdin?.on('error', () => undefined);
    child.on('exit', () => {
      if (this.child === child) this.child = null;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        this.inFlight.delete(p.target.key);
        p.resolve({ state: 'unknown', errno: 'EPROBECHILD', syscall: 'statfs', latencyMs: 0 });
      }
      this.inFlight.clear();
    });
    return child;
  }

  private onLine(line: string): void {
    let msg: ChildReply;
    try {
      msg = JSON.parse(line) as ChildReply;
    } catch {
      return;
    }
    if (msg.kind === 'unstuck') {
      this.inFlight.delete(msg.key);
      this.onUnstuck?.(msg.key);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(msg.id);
    if (msg.kind === 'hung') {
      this.orphans++;
      p.resolve({ state: 'hung', timeoutMs: msg.timeoutMs });
      return; // stays in flight until 'unstuck'
    }
    this.inFlight.delete(p.target.key);
    const r = msg.reply;
    p.resolve(
      r.ok
        ? { state: 'healthy', latencyMs: r.latencyMs }
        : { state: classifyProbeErrno(r.errno), errno: r.errno, syscall: r.syscall, latencyMs: r.latencyMs },
    );
  }

  private release(): void {
    const child = this.child;
    if (!child) return;
    if (this.outChild === child) this.flush();
    this.child = null;
    child.stdin?.end(); // the child exits once its stuck probes (if any) return
    child.stdout?.destroy();
    child.unref();
  }

  // Abandon the child: it finishes or stays blocked on its own, never holding up this process.
  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.release();
  }
}
