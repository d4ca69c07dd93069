import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execArgv, spawnArgv } from './exec.js';
import { READ_MAX_BYTES } from './probe-protocol.js';
import { pidRanges } from './pid-ranges.js';
import { takeEarlyMountinfo } from './probe-early.js';
import { ProbeRunner } from './probe-runner.js';
import { errnoName } from '../mounts/probe/classify.js';
import {
  FIELD_LETTERS,
  MM_FIELDS,
  procEntryByParts,
  procEntryFromFields,
  type ProcEntry,
  type ProcField,
  type ProcReadOptions,
  type ProcTable,
} from './proc-entry.js';
import type {
  BindTreeRequest,
  BindTreeResult,
  ExecOptions,
  ExecResult,
  GraftRequest,
  GraftResult,
  HelperStat,
  HelperView,
  Host,
  ProbeOptions,
  ProbeResult,
  ProbeTarget,
  SpawnOptions,
  SpawnedProcess,
  TcpResult,
} from './types.js';

const MAX_READ = 16 * 1024 * 1024;
// /proc/<pid>/<file>, /proc/<pid>/task/<tid>/<file> and fdinfo entries: read through the probe
// engine, whichever runs (the native helper, or the Node probe child's worker threads).
const PROC_PID_FILE =
  /^\/proc\/[0-9]+\/(?:task\/[0-9]+\/)?(?:cmdline|stat|status|fdinfo\/[0-9]+|environ|maps|mountinfo)$/;
const PROC_READ_TIMEOUT_MS = 1000;
const KMSG_TIMEOUT_MS = 1000;
// Its links too: a readlink of /proc/<pid>/{cwd,exe,root,fd/N,ns/...} waits, like a read of its
// stat, while the process is inside execve (which can take as long as a hung mount hangs).
const PROC_PID_LINK = /^\/proc\/[0-9]+\/(?:task\/[0-9]+\/)?(?:cwd|exe|root|fd\/[0-9]+|ns\/[a-z_]+)$/;
const PROC_CONCURRENCY = 64; // processes read at once without the helper

// Default directories: root gets the FHS ones; other users get per-user ones. Env overrides both.
export function defaultDirs(): { stateDir: string; runDir: string } {
  const root = process.getuid?.() === 0;
  const home = os.homedir();
  const runtime = process.env.XDG_RUNTIME_DIR;
  return {
    stateDir: process.env.ENOTCONN_STATE_DIR ?? (root ? '/var/lib/enotconn' : path.join(home, '.local/state/enotconn')),
    runDir:
      process.env.ENOTCONN_RUN_DIR ??
      (root ? '/run/enotconn' : runtime ? path.join(runtime, 'enotconn') : `/tmp/enotconn-${process.getuid?.()}`),
  };
}

// The real host. With `root` set, /proc, /sys and /dev/kmsg are read under it instead (fixtures).
export class NodeHost implements Host {
  readonly root: string;
  readonly stateDir: string;
  readonly runDir: string;
  private runner: ProbeRunner | null = null;

  constructor(opts: { root?: string; stateDir?: string; runDir?: string } = {}) {
    this.root = opts.root ?? '';
    const d = defaultDirs();
    this.stateDir = opts.stateDir ?? d.stateDir;
    this.runDir = opts.runDir ?? d.runDir;
  }

  proc(...parts: Array<string | number>): string {
    return path.join(this.root || '/', 'proc', ...parts.map(String));
  }

  sys(...parts: Array<string | number>): string {
    return path.join(this.root || '/', 'sys', ...parts.map(String));
  }

  // The probe runner when it is the native helper and /proc is the real one: it serves /proc reads.
  private helper(): ProbeRunner | null {
    if (this.root !== '') return null;
    this.runner ??= new ProbeRunner(this.runDir);
    return this.runner.engine === 'native' ? this.runner : null;
  }

  async readText(p: string, maxBytes = MAX_READ): Promise<string | null> {
    if (p === '/proc/self/mountinfo' && this.root === '') {
      const early = takeEarlyMountinfo(); // what the entry read for a scan's early probes
      if (early !== null) return early;
    }
    // A process's own files go through the probe engine, with a deadline (DESIGN §7: the read of
    // a process's stat, environ or maps can block on its exec or mm lock), never through this
    // process's libuv pool; with the native helper it is also ~10x cheaper than three libuv round trips.
    if (this.root === '' && PROC_PID_FILE.test(p)) {
      this.runner ??= new ProbeRunner(this.runDir);
      const r = await this.runner.readBounded(p, Math.min(maxBytes, READ_MAX_BYTES), PROC_READ_TIMEOUT_MS);
      return r.ok ? r.data.toString('latin1') : null;
    }
    try {
      const fh = await fsp.open(p, 'r');
      try {
        // /proc files report size 0: read in chunks until EOF.
        const chunks: Buffer[] = [];
        let total = 0;
        // The first chunk is small (Buffer's shared pool): most /proc files (stat, cmdline) fit
        // in it, and a scan reads thousands; a 64 KiB buffer each was most of scan's GC time.
        for (let size = 4000; ; size = 65536) {
          const buf = Buffer.allocUnsafe(Math.min(size, maxBytes - total));
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          chunks.push(buf.subarray(0, bytesRead));
          total += bytesRead;
          if (total >= maxBytes) break;
        }
        // latin1 keeps every byte; callers that need UTF-8 (mountinfo paths) convert after unescaping.
        return Buffer.concat(chunks).toString(p.includes('/proc/') ? 'latin1' : 'utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return null;
    }
  }

  async readDir(p: string): Promise<string[] | null> {
    try {
      return await fsp.readdir(p);
    } catch {
      return null;
    }
  }

  async readLink(p: string): Promise<string | null> {
    // The same holds for a process's /proc links: through the probe engine, with a deadline.
    if (this.root === '' && PROC_PID_LINK.test(p)) {
      this.runner ??= new ProbeRunner(this.runDir);
      const r = await this.runner.readLinkBounded(p, PROC_READ_TIMEOUT_MS);
      return r.ok ? r.data.toString('latin1') : null;
    }
    try {
      // readlink on /proc/<pid>/{cwd,root,fd/N} returns d_path text and never touches the target fs.
      return await fsp.readlink(p, { encoding: 'latin1' });
    } catch {
      return null;
    }
  }

  async fileExists(p: string): Promise<boolean> {
    try {
      await fsp.lstat(p);
      return true;
    } catch {
      return false;
    }
  }

  async writeText(p: string, data: string, opts: { atomic?: boolean; mode?: number } = {}): Promise<void> {
    if (!opts.atomic) {
      await fsp.writeFile(p, data, opts.mode !== undefined ? { mode: opts.mode } : {});
      return;
    }
    const tmp = `${p}.tmp-${process.pid}-${Date.now()}`;
    const fh = await fsp.open(tmp, 'w', opts.mode ?? 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, p);
  }

  async appendText(p: string, data: string): Promise<void> {
    // Created 0600: every file enotconn appends to is its own state (the audit log, logs).
    await fsp.appendFile(p, data, { mode: 0o600 });
  }

  async chmod(p: string, mode: number): Promise<void> {
    await fsp.chmod(p, mode);
  }

  async createExclusive(p: string, data: string, mode = 0o600): Promise<boolean> {
    try {
      await fsp.writeFile(p, data, { flag: 'wx', mode });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  async mkdirp(p: string, mode = 0o755): Promise<void> {
    await fsp.mkdir(p, { recursive: true, mode });
  }

  // unlink(2), a missing file being fine (as rm -f). Not fs.rm: it loads Node's rimraf module (a few
  // ms of a cold start) for what is one file.
  async removeFile(p: string): Promise<void> {
    try {
      await fsp.unlink(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  async removeDir(p: string): Promise<void> {
    await fsp.rmdir(p);
  }

  async listPids(): Promise<number[]> {
    const names = (await this.readDir(this.proc())) ?? [];
    return names.filter((n) => /^\d+$/.test(n)).map(Number);
  }

  async readProcess(pid: number, what: readonly ProcField[], opts: ProcReadOptions = {}): Promise<ProcEntry> {
    const helper = this.helper();
    if (!helper) return procEntryByParts(this, pid, what, opts);
    const letters = what.map((w) => FIELD_LETTERS[w]).join('');
    const fields = await helper.procFields(pid, letters, opts.mapsPrefix ?? null, PROC_READ_TIMEOUT_MS);
    if (fields) return procEntryFromFields(pid, what, fields);
    // No answer in time: cmdline or maps waits on the process's mmap lock (a thread faulting on a
    // hung mount). Its links, fds and stat take no such lock: ask for them alone.
    const safe = what.filter((w) => !MM_FIELDS.has(w));
    if (safe.length === 0 || safe.length === what.length) return procEntryFromFields(pid, what, []);
    const again = await helper.procFields(pid, safe.map((w) => FIELD_LETTERS[w]).join(''), null, PROC_READ_TIMEOUT_MS);
    return { ...procEntryFromFields(pid, what, []), ...procEntryFromFields(pid, safe, again ?? []) };
  }

  async readProcesses(what: readonly ProcField[], opts: ProcReadOptions = {}): Promise<ProcTable> {
    const helper = this.helper();
    const deadline = opts.deadline ?? Infinity;
    const entries: ProcEntry[] = [];
    let read: ReadonlySet<number> = new Set();
    if (helper) {
      const letters = what.map((w) => FIELD_LETTERS[w]).join('');
      // Many processes are read in ranges of pids, one request (and helper thread) each, so the
      // walk runs on every core; the table asked for at start-up is taken whole.
      const ranges = helper.earlyTableRanges(letters) ?? pidRanges(await this.listPids());
      const parts = await Promise.all(
        ranges.map(([from, to]) => this.tableRange(helper, what, letters, opts, from, to, deadline)),
      );
      const got = parts.flatMap((p) => p.entries).sort((x, y) => x.pid - y.pid);
      if (parts.every((p) => p.end !== 'lost')) return { entries: got, complete: parts.every((p) => p.end === 'done') };
      entries.push(...got);
      read = new Set(got.map((e) => e.pid));
    }
    // Without the helper (or it stopped answering): PROC_CONCURRENCY processes at a time, until the
    // deadline, which also ends the wait for a read that never returns.
    const pids = (await this.listPids()).filter((p) => !read.has(p)).sort((a, b) => a - b);
    const rest: Array<ProcEntry | undefined> = new Array<ProcEntry | undefined>(pids.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pids.length && performance.now() < deadline) {
        const i = next++;
        rest[i] = await this.readProcess(pids[i]!, what, opts);
      }
    };
    const all = Promise.all(Array.from({ length: Math.min(PROC_CONCURRENCY, pids.length) }, worker));
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(deadline)) {
      await Promise.race([all, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - performance.now()))))]);
      clearTimeout(timer);
    } else {
      await all;
    }
    for (const e of rest) if (e) entries.push(e);
    return { entries, complete: rest.every((e) => e !== undefined) };
  }

  // One range of a table through the helper. A process whose read blocks (cmdline or maps waits
  // on its mmap lock) is read again alone, without those fields, and the walk goes on after it.
  private async tableRange(
    helper: ProbeRunner,
    what: readonly ProcField[],
    letters: string,
    opts: ProcReadOptions,
    from: number,
    to: number | null,
    deadline: number,
  ): Promise<{ entries: ProcEntry[]; end: 'done' | 'deadline' | 'lost' }> {
    const entries: ProcEntry[] = [];
    const safe = what.filter((w) => !MM_FIELDS.has(w));
    let after = from;
    for (;;) {
      const r = await helper.table(letters, opts.mapsPrefix ?? null, PROC_READ_TIMEOUT_MS, after, to, (pid, f) => {
        entries.push(procEntryFromFields(pid, what, f));
        after = pid;
      });
      if ('done' in r) return { entries, end: 'done' };
      if ('lost' in r) return { entries, end: 'lost' };
      const alone = safe.length > 0 ? await this.readProcess(r.hung, safe, opts) : { pid: r.hung };
      entries.push({ ...procEntryFromFields(r.hung, what, []), ...alone });
      after = r.hung;
      if (performance.now() >= deadline) return { entries, end: 'deadline' };
    }
  }

  async readKmsg(maxRecords = 20000, words?: readonly string[]): Promise<string[] | null> {
    // With words, the helper reads and filters the records on one of its threads: the thousands of
    // read(2) calls and the records no word is in never reach this thread.
    const helper = words !== undefined && words.length > 0 ? this.helper() : null;
    const kept = helper ? await helper.kmsg(words!, maxRecords, KMSG_TIMEOUT_MS) : null;
    if (Array.isArray(kept)) return kept;
    if (typeof kept === 'string') return null; // it could not open /dev/kmsg: neither can this process
    const file = path.join(this.root || '/', 'dev', 'kmsg');
    // Why O_NONBLOCK: a blocking read of /dev/kmsg waits for the next message once the buffer is
    // drained (Documentation/ABI/testing/dev-kmsg); non-blocking returns EAGAIN instead.
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return null;
    }
    const records: string[] = [];
    const buf = Buffer.alloc(8192); // one read() returns exactly one record, at most ~8 KiB
    try {
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EPIPE') continue; // records overwritten while reading: skip ahead
          break; // EAGAIN: drained
        }
        if (n === 0) break;
        records.push(buf.toString('utf8', 0, n).replace(/\n$/, ''));
        if (records.length > maxRecords) records.shift();
      }
    } finally {
      fs.closeSync(fd);
    }
    return records;
  }

  // Whether the mount table may have changed since the last call (the helper's watch, when running).
  mountTableMayHaveChanged(): boolean {
    if (this.root !== '') return true;
    return this.runner?.mountTableMayHaveChanged() ?? true;
  }

  async statInHelper(p: string, follow: boolean, timeoutMs: number): Promise<HelperStat | null> {
    const helper = p.startsWith('/') ? this.helper() : null;
    if (!helper) return null;
    const items = await helper.statChain(p, follow, timeoutMs);
    if (items === null) return { timedOut: true };
    return {
      timedOut: false,
      items: items.map((it) => {
        const f = it.split(':').map(Number);
        return f.length === 4 ? { dev: f[0]!, ino: f[1]!, uid: f[2]!, mode: f[3]! } : { errno: -f[0]! };
      }),
    };
  }

  async viewInHelper(
    p: string,
    what: 'l' | 'f' | 'r',
    maxBytes: number,
    timeoutMs: number,
  ): Promise<HelperView | null> {
    const helper = p.startsWith('/') ? this.helper() : null;
    if (!helper) return null;
    const f = await helper.view(p, what, maxBytes, timeoutMs);
    if (f === null) return { timedOut: true };
    if (f[0] !== 'ok') return { timedOut: false, errno: errnoName(Number(f[1])), data: Buffer.alloc(0) };
    const v = f[1] ?? '-';
    return {
      timedOut: false,
      errno: null,
      data: what === 'l' ? Buffer.from(v) : Buffer.from(v === '-' ? '' : v, 'hex'),
    };
  }

  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return execArgv(argv, opts);
  }

  spawnProcess(argv: readonly string[], opts?: SpawnOptions): SpawnedProcess {
    return spawnArgv(argv, opts);
  }

  probe(targets: readonly ProbeTarget[], opts: ProbeOptions): Promise<ProbeResult[]> {
    if (targets.length === 0) return Promise.resolve([]);
    this.runner ??= new ProbeRunner(this.runDir);
    return this.runner.probe(targets, opts);
  }

  probeEach(
    targets: readonly ProbeTarget[],
    opts: ProbeOptions,
    each: (i: number, r: ProbeResult) => void,
  ): Promise<void> {
    if (targets.length === 0) return Promise.resolve();
    this.runner ??= new ProbeRunner(this.runDir);
    return this.runner.probeEach(targets, opts, each);
  }

  graft(req: GraftRequest): Promise<GraftResult> {
    this.runner ??= new ProbeRunner(this.runDir);
    return this.runner.graft(req);
  }

  prepareProbes(concurrency: number): void {
    this.runner ??= new ProbeRunner(this.runDir);
    this.runner.prepare(concurrency);
  }

  // The probe runner, for the watch daemon's metrics (orphans, in flight).
  get probeRunner(): ProbeRunner | null {
    return this.runner;
  }

  async bindTree(req: BindTreeRequest): Promise<BindTreeResult | null> {
    if (this.root !== '') return null;
    this.runner ??= new ProbeRunner(this.runDir);
    if (this.runner.engine !== 'native') return null;
    const r = await this.runner.bindTree(req);
    // A kernel without openat2/open_tree/move_mount (before 5.6; mount_setattr 5.12): mount(8) instead.
    return !r.ok && 'errno' in r && r.errno === 'ENOSYS' ? null : r;
  }

  tcpConnect(host: string, port: number, timeoutMs: number): Promise<TcpResult> {
    const t0 = performance.now();
    const ms = (): number => Math.round((performance.now() - t0) * 10) / 10;
    return new Promise((resolve) => {
      const sock = net.connect({ host, port });
      const done = (r: TcpResult): void => {
        clearTimeout(timer);
        sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(
        () => done({ ok: false, errno: 'ETIMEDOUT', latencyMs: ms(), timedOut: true }),
        timeoutMs,
      );
      sock.once('connect', () => done({ ok: true, latencyMs: ms() }));
      sock.once('error', (e: NodeJS.ErrnoException) =>
        done({ ok: false, errno: e.code ?? 'EUNKNOWN', latencyMs: ms(), timedOut: false }),
      );
    });
  }

  signal(pid: number, signal: NodeJS.Signals | 0): boolean {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  // Read once: this process never changes its own ids (a probe as a mount's owner runs in the engine).
  private readonly selfUid = process.getuid?.() ?? 0;
  uid(): number {
    return this.selfUid;
  }

  selfPid(): number | null {
    return this.root === '' ? process.pid : null;
  }

  hostname(): string {
    return os.hostname();
  }

  now(): number {
    return Date.now();
  }

  async bootTimeMs(): Promise<number | null> {
    const up = await this.readText(this.proc('uptime'));
    const secs = up ? Number(up.split(' ')[0]) : NaN;
    return Number.isFinite(secs) ? this.now() - secs * 1000 : null;
  }

  close(): void {
    this.runner?.close();
    this.runner = null;
  }
}
