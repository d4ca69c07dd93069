// Runs `enotconn watch` as a child process for live tests, and reads its HTTP API and database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, freePort, killHard, privateDirs, tempDir, waitFor } from '../../helpers/live.js';
import { cgroup2Mount } from '../../../src/host/daemon-launch.js';

export interface WatchProc {
  port: number;
  proc: ChildProcess;
  dirs: { ENOTCONN_RUN_DIR: string; ENOTCONN_STATE_DIR: string };
  configFile: string;
  logs(): string;
  get(p: string): Promise<{ status: number; body: string; ms: number }>;
  json<T = Record<string, unknown>>(p: string): Promise<T>;
  mount(mp: string): Promise<ApiMount | undefined>;
  metric(name: string, labels: Record<string, string>): Promise<number | null>;
  db<T>(sql: string, ...args: unknown[]): T[];
  exited: Promise<{ code: number | null; signal: string | null }>;
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

export interface ApiMount {
  mountpoint: string;
  state: string;
  up: boolean;
  managed: string | null;
  daemonPid: number | null;
  incidentId: number | null;
  healing: boolean;
  breakerOpen: boolean;
  heals: number;
  lastHealResult: string | null;
}

// GET a URL on 127.0.0.1 with a generous timeout; measures the wall time.
export function httpGet(
  port: number,
  p: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
  });
}

// The value of one sample in a Prometheus text exposition, or null when absent.
export function sampleValue(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && line.split(' ')[0] !== name) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

// Start watch with `yaml` as its config; stopped (SIGTERM, then SIGKILL) after the test.
export async function startWatchProc(
  t: TestContext,
  yaml: string,
  opts: {
    dirs?: WatchProc['dirs'];
    extraArgs?: string[];
    waitHealthy?: boolean;
    cgroup?: TestCgroup;
    env?: Record<string, string>; // added to watch's environment (ENOTCONN_FAILPOINT...)
    cli?: string; // the CLI file to run (the tsc build's main.js unless given; benches run the bundle)
  } = {},
): Promise<WatchProc> {
  const dirs = opts.dirs ?? privateDirs(t);
  const dir = tempDir(t, 'enc-watchcfg-');
  const configFile = path.join(dir, 'watch.yaml');
  fs.writeFileSync(configFile, yaml);
  const port = await freePort();
  const start = (): ChildProcess =>
    spawn(
      process.execPath,
      [opts.cli ?? CLI, 'watch', '--config', configFile, '--listen', `127.0.0.1:${port}`, ...(opts.extraArgs ?? [])],
      {
        env: { ...process.env, NO_COLOR: '1', ...dirs, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  const proc = opts.cgroup ? opts.cgroup.spawnInside(start) : start();
  let out = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const stop = async (): Promise<{ code: number | null; signal: string | null }> => {
    if (!done) {
      proc.kill('SIGTERM');
      const t1 = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const r = await exited;
      clearTimeout(t1);
      return r;
    }
    return exited;
  };
  t.after(async () => {
    await stop();
  });
  const get = (p: string): Promise<{ status: number; body: string; ms: number }> => httpGet(port, p);
  const w: WatchProc = {
    port,
    proc,
    dirs,
    configFile,
    logs: () => out,
    get,
    json: async <T>(p: string) => JSON.parse((await get(p)).body) as T,
    mount: async (mp: string) =>
      (await w.json<{ mounts: ApiMount[] }>('/api/mounts')).mounts.find((m) => m.mountpoint === mp),
    metric: async (name, labels) => sampleValue((await get('/metrics')).body, name, labels),
    db: <T>(sql: string, ...args: unknown[]) => {
      const db = new Database(path.join(dirs.ENOTCONN_STATE_DIR, 'enotconn.db'), {
        readonly: true,
        fileMustExist: true,
      });
      try {
        return db.prepare(sql).all(...args) as T[];
      } catch (e) {
        // A table another module creates on first use (recipes) may not exist yet.
        if (/no such table/.test((e as Error).message)) return [];
        throw e;
      } finally {
        db.close();
      }
    },
    exited,
    stop,
  };
  await waitFor(
    async () => {
      if (done) throw new Error(`watch exited early: ${out.slice(-2000)}`);
      try {
        return (await get('/healthz')).status > 0;
      } catch {
        return false;
      }
    },
    60_000,
    'watch to listen',
  );
  return w;
}

// Lines of /proc/self/mountinfo whose mountpoint is exactly `mp` (no escapes in test paths).
export function mountCount(mp: string): number {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === mp).length;
}

// Wait until the managed mount at `mp` is healthy again, served by another daemon than `first`.
export async function managedBack(w: WatchProc, mp: string, first: number): Promise<void> {
  await waitFor(
    async () => {
      const v = await w.mount(mp);
      return v?.state === 'healthy' && v.daemonPid !== null && v.daemonPid !== first;
    },
    60_000,
    'the managed mount to be back',
  );
}

// A live process (not a zombie).
export function alive(pid: number): boolean {
  return procState(pid) !== null && procState(pid) !== 'Z';
}

// The state letter of /proc/PID/stat (R, S, T, Z...), or null when the process is gone.
export function procState(pid: number): string | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

// A process that only names the mountpoint in its argv, like `rsync -a /mnt/data /bak` would.
export function bystander(t: TestContext, mp: string): ChildProcess {
  const p = spawn('sh', ['-c', 'sleep 600; :', 'sh', mp], { stdio: 'ignore', detached: true });
  p.unref();
  t.after(() => killHard(p.pid!));
  return p;
}

// The step lines of heal-audit.jsonl for `mp`, as "origin:action:ok|failed", in order.
export function auditSteps(stateDir: string, mp: string): string[] {
  const file = path.join(stateDir, 'heal-audit.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; action: string; mountpoint: string; ok: boolean; origin: string })
    .filter((l) => l.kind === 'step' && l.mountpoint === mp)
    .map((l) => `${l.origin}:${l.action}:${l.ok ? 'ok' : 'failed'}`);
}

// A tiny webhook receiver on `port` that records every JSON body it gets.
export function webhookReceiver(
  t: TestContext,
  port: number,
): Promise<{ events: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const events: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        events.push(JSON.parse(body) as Record<string, unknown>);
      } catch {
        // ignore
      }
      res.writeHead(204);
      res.end();
    });
  });
  const close = (): Promise<void> =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  t.after(close);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ events, close }));
  });
}

// A cgroup v2 subtree of the test's own, as systemd makes one per service: `<root>/enc-watchsvc-N/`
// holds watch's cgroup `watch/`, and the daemon cgroups watch creates beside it.
export interface TestCgroup {
  parent: string;
  watch: string;
  // Fork `start` inside the watch cgroup (the test process enters it for the instant of the fork).
  spawnInside<T>(start: () => T): T;
  // Kill every process in watch's cgroup at once, as systemd does on stop (cgroup.kill).
  killWatch(): void;
  pids(dir: string): number[];
}

// The cgroup v2 path of a process ("0::/path"), or null.
export function cgroupOf(pid: number | 'self'): string | null {
  try {
    return /^0::(\/.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

// A fresh cgroup subtree for one test, or null (the test skips) when cgroup v2 is not writable here.
export function testCgroup(t: TestContext): TestCgroup | null {
  const root = cgroup2Mount(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  const own = cgroupOf('self');
  if (root === null || own === null) return null;
  const parent = path.join(root, path.posix.dirname(own), `enc-watchsvc-${process.pid}-${Date.now()}`);
  try {
    fs.mkdirSync(path.join(parent, 'watch'), { recursive: true });
  } catch {
    return null;
  }
  const ownProcs = path.join(root, own, 'cgroup.procs');
  const pids = (dir: string): number[] => {
    try {
      return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const kill = (dir: string): void => {
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    } catch {
      for (const p of pids(dir)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  };
  const cg: TestCgroup = {
    parent,
    watch: path.join(parent, 'watch'),
    spawnInside<T>(start: () => T): T {
      fs.writeFileSync(path.join(parent, 'watch', 'cgroup.procs'), String(process.pid));
      try {
        return start();
      } finally {
        fs.writeFileSync(ownProcs, String(process.pid));
      }
    },
    killWatch: () => kill(path.join(parent, 'watch')),
    pids,
  };
  // Everything in the subtree was started by this test (watch and the daemons it launched). A
  // failure here is reported but never thrown: a throwing hook would skip the unmounts after it.
  t.after(() => removeTree().catch((e: unknown) => console.error(`# test cgroup cleanup: ${(e as Error).message}`)));
  async function removeTree(): Promise<void> {
    const dirs = fs.readdirSync(parent).filter((n) => fs.statSync(path.join(parent, n)).isDirectory());
    for (const d of dirs) kill(path.join(parent, d));
    // rmdir fails with EBUSY until the last task has exited and been reaped ("populated 0" in
    // cgroup.events, cgroup-v2.rst), which can be after cgroup.procs reads empty.
    const removed = (d: string): boolean => {
      try {
        fs.rmdirSync(d);
        return true;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return true;
        if (code !== 'EBUSY') throw e;
        return false;
      }
    };
    await waitFor(
      () => dirs.map((d) => removed(path.join(parent, d))).every(Boolean),
      20_000,
      'the test cgroups to empty and be removed',
    );
    fs.rmdirSync(parent);
  }
  return cg;
}
