// Runs `enotconn watch` as a child process for live tests, and reads its HTTP API and database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, freePort, privateDirs, tempDir, waitFor } from '../../helpers/live.js';

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
  opts: { dirs?: WatchProc['dirs']; extraArgs?: string[]; waitHealthy?: boolean } = {},
): Promise<WatchProc> {
  const dirs = opts.dirs ?? privateDirs(t);
  const dir = tempDir(t, 'enc-watchcfg-');
  const configFile = path.join(dir, 'watch.yaml');
  fs.writeFileSync(configFile, yaml);
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [CLI, 'watch', '--config', configFile, '--listen', `127.0.0.1:${port}`, ...(opts.extraArgs ?? [])],
    {
      env: { ...process.env, NO_COLOR: '1', ...dirs },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
