// An honest in-memory Host for unit tests, in the spirit of kubernetes mount-utils' FakeMounter:
// a mount table, a file map, a process table and a directory tree, all in memory. Every action
// (exec, spawn, write, signal) is recorded; unmount and mount commands change the in-memory mount
// table the way the kernel would. It implements Host directly and shares no code with NodeHost.
import type { MountInfo } from '../mounts/mountinfo/parse.js';
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
import {
  procEntryByParts,
  type ProcEntry,
  type ProcField,
  type ProcReadOptions,
  type ProcTable,
} from './proc-entry.js';
import { probeEachOf } from './probe-each.js';

// One action the fake was asked to take.
export type FakeAction =
  | { kind: 'exec'; argv: string[]; env: Record<string, string> }
  | { kind: 'spawn'; argv: string[] }
  | { kind: 'write'; path: string; data: string }
  | { kind: 'signal'; pid: number; signal: string | number }
  | { kind: 'unmount'; mountId: number; mountpoint: string }
  | { kind: 'mount'; mountId: number; mountpoint: string; argv: string[] }
  | { kind: 'graft'; req: GraftRequest }
  | { kind: 'bind-tree'; source: string; target: string; attrs: string[] };

// A directory entry of the fake tree, for `stat` (no -L) walks: lstat fields only.
export interface FakeInode {
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  type: 'dir' | 'symlink' | 'file';
  mode?: number; // permission bits, default 0o755
}

// A fake process: what /proc/<pid>/{stat,status,cmdline} show.
export interface FakeProcess {
  pid: number;
  argv: string[];
  uid: number;
  gid: number;
  state?: string;
  startTicks?: number;
  exe?: string;
  root?: string; // /proc/<pid>/root ('/' when absent)
  // /proc/<pid>/fd/N: a readlink target, or a /dev/fuse fd of connection `fuse` (fdinfo says so).
  fds?: Array<string | { fuse: number }>;
  // Another mount namespace (a container): its inode and its own mount table.
  mntns?: { inode: number; mounts: MountInfo[] };
}

// The host's own mount namespace inode in the fake.
export const FAKE_HOST_MNTNS = 4026531841;

// How the fake answers a command; return null to fall back to the built-in behaviour.
export type ExecHandler = (argv: readonly string[], fake: FakeHost) => Partial<ExecResult> | null;

const PROC = '/proc';

// The in-memory host.
export class FakeHost implements Host {
  readonly root = '';
  readonly stateDir: string;
  readonly runDir: string;
  readonly actions: FakeAction[] = [];
  readonly files = new Map<string, string>();
  readonly inodes = new Map<string, FakeInode>();
  readonly processes = new Map<number, FakeProcess>();
  mounts: MountInfo[] = [];
  // Probe answers by mountpoint; a mountpoint with no answer is healthy when mounted.
  readonly probes = new Map<string, ProbeResult>();
  handlers: ExecHandler[] = [];
  // How the next grafts answer (first in, first out); ok when empty.
  readonly graftAnswers: GraftResult[] = [];
  // Whether bindTree acts like the native helper (true) or says there is none (null, the default).
  bindHelper = false;
  private nextMountId = 1000;
  private clock = Date.parse('2026-12-01T10:00:00.000Z');
  private readonly myUid: number;

  constructor(opts: { uid?: number; stateDir?: string; runDir?: string } = {}) {
    this.myUid = opts.uid ?? 0;
    this.stateDir = opts.stateDir ?? '/var/lib/enotconn';
    this.runDir = opts.runDir ?? '/run/enotconn';
    for (const d of ['/', '/usr', '/usr/bin', '/usr/sbin', '/bin', '/sbin', '/tmp']) this.addDir(d);
  }

  // Add a directory (and every missing parent) to the tree.
  addDir(p: string, opts: Partial<FakeInode> = {}): void {
    const parts = p.split('/').filter(Boolean);
    for (let i = 0; i <= parts.length; i++) {
      const q = `/${parts.slice(0, i).join('/')}`;
      if (!this.inodes.has(q) || i === parts.length) {
        const prev = this.inodes.get(q);
        this.inodes.set(q, {
          dev: 8,
          ino: prev?.ino ?? this.inodes.size + 2,
          uid: 0,
          gid: 0,
          type: 'dir',
          ...(i === parts.length ? opts : {}),
        });
      }
    }
  }

  // Put a mount in the table (on top of whatever is at its mountpoint); returns it.
  addMount(m: Partial<MountInfo> & { mountpoint: string; fstype: string; source: string }): MountInfo {
    const dot = m.fstype.indexOf('.');
    const full: MountInfo = {
      id: m.id ?? this.nextMountId++,
      parentId: m.parentId ?? 1,
      major: m.major ?? 0,
      minor: m.minor ?? 40 + this.mounts.length,
      root: m.root ?? '/',
      options: m.options ?? ['rw', 'nosuid', 'nodev', 'relatime'],
      optionalFields: m.optionalFields ?? [],
      type: dot > 0 ? m.fstype.slice(0, dot) : m.fstype,
      subtype: dot > 0 ? m.fstype.slice(dot + 1) : null,
      superOptions: m.superOptions ?? ['rw'],
      deleted: m.deleted ?? false,
      ...m,
    };
    this.mounts.push(full);
    this.addDir(m.mountpoint);
    return full;
  }

  // Add a process to the fake /proc.
  addProcess(p: FakeProcess): void {
    this.processes.set(p.pid, p);
  }

  private mountinfoText(mounts: readonly MountInfo[] = this.mounts): string {
    const esc = (s: string): string =>
      s.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    return mounts
      .map(
        (m) =>
          `${m.id} ${m.parentId} ${m.major}:${m.minor} ${esc(m.root)} ${esc(m.mountpoint)} ${m.options.join(',')}${
            m.optionalFields.length ? ` ${m.optionalFields.join(' ')}` : ''
          } - ${m.fstype} ${esc(m.source)} ${m.superOptions.join(',')}\n`,
      )
      .join('');
  }

  proc(...parts: Array<string | number>): string {
    return [PROC, ...parts.map(String)].join('/');
  }

  sys(...parts: Array<string | number>): string {
    return ['/sys', ...parts.map(String)].join('/');
  }

  private procFile(p: string): string | null | undefined {
    const m = /^\/proc\/(self|\d+)\/(.+)$/.exec(p);
    if (!m) return undefined;
    const proc = this.processes.get(Number(m[1]));
    if (m[2] === 'mountinfo') return this.mountinfoText(proc?.mntns?.mounts);
    if (!proc) return null;
    switch (m[2]) {
      case 'stat':
        return `${proc.pid} (${(proc.argv[0] ?? '?').split('/').at(-1)}) ${proc.state ?? 'S'} 1 ${'0 '.repeat(17)}${proc.startTicks ?? 100} 0`;
      case 'status':
        return `Name:\t${proc.argv[0]}\nUid:\t${proc.uid}\t${proc.uid}\t${proc.uid}\t${proc.uid}\nGid:\t${proc.gid}\t${proc.gid}\t${proc.gid}\t${proc.gid}\n`;
      case 'cmdline':
        return proc.argv.map((a) => `${a}\0`).join('');
      default: {
        const fd = /^fdinfo\/(\d+)$/.exec(m[2]!);
        const f = fd ? proc.fds?.[Number(fd[1])] : undefined;
        if (f === undefined) return null;
        return `pos:\t0\nflags:\t0100002\nmnt_id:\t24\n${typeof f === 'string' ? '' : `fuse_connection:\t${f.fuse}\n`}`;
      }
    }
  }

  readText(path: string, maxBytes = 16 * 1024 * 1024): Promise<string | null> {
    const p = this.procFile(path);
    const text = p !== undefined ? p : (this.files.get(path) ?? null);
    return Promise.resolve(text === null ? null : text.slice(0, maxBytes));
  }

  readDir(path: string): Promise<string[] | null> {
    if (path === PROC) return Promise.resolve([...this.processes.keys()].map(String));
    const fd = /^\/proc\/(\d+)\/fd$/.exec(path);
    if (fd) {
      const p = this.processes.get(Number(fd[1]));
      return Promise.resolve(p ? (p.fds ?? []).map((_, i) => String(i)) : null);
    }
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const names = new Set<string>();
    for (const k of [...this.files.keys(), ...this.inodes.keys()]) {
      if (k.startsWith(prefix) && k.length > prefix.length) names.add(k.slice(prefix.length).split('/')[0]!);
    }
    return Promise.resolve(names.size > 0 || this.inodes.has(path) ? [...names] : null);
  }

  readLink(path: string): Promise<string | null> {
    if (path === `${PROC}/self/ns/mnt`) return Promise.resolve(`mnt:[${FAKE_HOST_MNTNS}]`);
    const m = /^\/proc\/(\d+)\/(exe|cwd|root|ns\/mnt|fd\/(\d+))$/.exec(path);
    const p = m ? this.processes.get(Number(m[1])) : undefined;
    if (!m || !p) return Promise.resolve(null);
    if (m[2] === 'ns/mnt') return Promise.resolve(`mnt:[${p.mntns?.inode ?? FAKE_HOST_MNTNS}]`);
    if (m[2] === 'exe') return Promise.resolve(p.exe ?? null);
    if (m[2] === 'root') return Promise.resolve(p.root ?? '/');
    if (m[2] === 'cwd') return Promise.resolve('/');
    const fd = p.fds?.[Number(m[3])];
    return Promise.resolve(fd === undefined ? null : typeof fd === 'string' ? fd : '/dev/fuse');
  }

  fileExists(path: string): Promise<boolean> {
    return Promise.resolve(this.files.has(path) || this.inodes.has(path) || this.procFile(path) != null);
  }

  writeText(path: string, data: string): Promise<void> {
    this.actions.push({ kind: 'write', path, data });
    this.files.set(path, data);
    return Promise.resolve();
  }

  appendText(path: string, data: string): Promise<void> {
    this.files.set(path, (this.files.get(path) ?? '') + data);
    return Promise.resolve();
  }

  createExclusive(path: string, data: string): Promise<boolean> {
    if (this.files.has(path)) return Promise.resolve(false);
    this.files.set(path, data);
    return Promise.resolve(true);
  }

  mkdirp(path: string, mode = 0o755): Promise<void> {
    this.addDir(path, { mode });
    return Promise.resolve();
  }

  chmod(path: string, mode: number): Promise<void> {
    const ino = this.inodes.get(path);
    if (ino) ino.mode = mode;
    return Promise.resolve();
  }

  removeFile(path: string): Promise<void> {
    this.files.delete(path);
    return Promise.resolve();
  }

  // rmdir: refused (EBUSY) for a mountpoint, (ENOTEMPTY) for a directory with entries, as the kernel does.
  removeDir(path: string): Promise<void> {
    if (this.mounts.some((m) => m.mountpoint === path)) return Promise.reject(new Error(`EBUSY: ${path}`));
    const prefix = `${path}/`;
    if ([...this.inodes.keys(), ...this.files.keys()].some((k) => k.startsWith(prefix))) {
      return Promise.reject(new Error(`ENOTEMPTY: ${path}`));
    }
    this.inodes.delete(path);
    return Promise.resolve();
  }

  listPids(): Promise<number[]> {
    return Promise.resolve([...this.processes.keys()]);
  }

  readProcess(pid: number, what: readonly ProcField[], opts?: ProcReadOptions): Promise<ProcEntry> {
    return procEntryByParts(this, pid, what, opts);
  }

  async readProcesses(what: readonly ProcField[], opts?: ProcReadOptions): Promise<ProcTable> {
    const pids = (await this.listPids()).sort((a, b) => a - b);
    return { entries: await Promise.all(pids.map((pid) => procEntryByParts(this, pid, what, opts))), complete: true };
  }

  // No native helper in the fake: validation runs the (faked) ls, find and sha256sum.
  viewInHelper(): Promise<HelperView | null> {
    return Promise.resolve(null);
  }

  // Nothing watches the fake's table (as with the Node engine): callers read it every time.
  mountTableMayHaveChanged(): boolean {
    return true;
  }

  // No native helper in the fake: path checks run the (faked) stat(1).
  statInHelper(): Promise<HelperStat | null> {
    return Promise.resolve(null);
  }

  readKmsg(): Promise<string[] | null> {
    return Promise.resolve([]);
  }

  // Commands change the fake mount table as the real ones change the kernel's: umount and
  // fusermount3 -u remove the top mount at the path, a mount or daemon command adds one.
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.actions.push({ kind: 'exec', argv: [...argv], env: { ...(opts.env ?? {}) } });
    for (const h of this.handlers) {
      const r = h(argv, this);
      if (r) return Promise.resolve(this.result(argv, r));
    }
    return Promise.resolve(this.result(argv, this.builtin(argv)));
  }

  private builtin(argv: readonly string[]): Partial<ExecResult> {
    const inner = unwrap(argv);
    const prog = (inner[0] ?? '').split('/').at(-1) ?? '';
    const last = inner.at(-1) ?? '';
    if (prog === 'umount' || (prog.startsWith('fusermount') && inner.includes('-u')) || inner.includes('-uz')) {
      const i = this.mounts.map((m) => m.mountpoint).lastIndexOf(last);
      if (i < 0) return { code: 32, stderr: `umount: ${last}: not mounted.\n` };
      const [m] = this.mounts.splice(i, 1);
      this.actions.push({ kind: 'unmount', mountId: m!.id, mountpoint: last });
      return { code: 0 };
    }
    if (prog === 'stat') {
      const fmt = inner.find((a) => a.startsWith('--printf='))?.slice('--printf='.length) ?? '%d %i %u %g %f\\n';
      return this.stat(fmt, inner.slice(inner.indexOf('--') + 1));
    }
    if (prog === 'systemctl') return { code: 0 };
    // Anything else is a mount command or a daemon: its last existing directory is the mountpoint,
    // and the security options it asks for (-o nosuid,...) are what the new mount gets.
    const target = [...inner].reverse().find((a) => a.startsWith('/') && this.inodes.get(a)?.type === 'dir');
    if (target !== undefined && target !== inner[0]) {
      const asked = inner.flatMap((a, i) => (inner[i - 1] === '-o' ? a.split(',') : []));
      const flags = ['ro', 'nosuid', 'nodev', 'noexec'].filter((o) => asked.includes(o));
      const m = this.addMount({
        mountpoint: target,
        fstype: prog === 'mount' ? 'nfs4' : prog === 'bindfs' ? 'fuse' : `fuse.${prog}`,
        source: inner[inner.indexOf(target) - 1] ?? prog,
        options: [flags.includes('ro') ? 'ro' : 'rw', ...flags.filter((f) => f !== 'ro'), 'relatime'],
      });
      this.actions.push({ kind: 'mount', mountId: m.id, mountpoint: target, argv: [...argv] });
      return { code: 0 };
    }
    return { code: null, spawnError: 'ENOENT' };
  }

  // `stat --printf=FORMAT -- PATH...` without -L: FORMAT (%d %i %u %g %f, \n) per path that exists.
  private stat(fmt: string, paths: readonly string[]): Partial<ExecResult> {
    const out: string[] = [];
    const err: string[] = [];
    for (const p of paths) {
      const ino = this.inodes.get(p);
      if (!ino) {
        err.push(`stat: cannot statx '${p}': No such file or directory`);
        continue;
      }
      const type = ino.type === 'dir' ? 0o040000 : ino.type === 'symlink' ? 0o120000 : 0o100000;
      const fields: Record<string, string> = {
        d: String(ino.dev),
        i: String(ino.ino),
        u: String(ino.uid),
        g: String(ino.gid),
        f: (type | (ino.mode ?? 0o755)).toString(16),
      };
      out.push(fmt.replace(/%([diugf])/g, (_, k: string) => fields[k]!).replace(/\\n/g, '\n'));
    }
    return { code: err.length > 0 ? 1 : 0, stdout: out.join(''), stderr: err.join('\n') };
  }

  private result(argv: readonly string[], r: Partial<ExecResult>): ExecResult {
    return {
      argv: [...argv],
      code: r.code ?? null,
      signal: r.signal ?? null,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      timedOut: r.timedOut ?? false,
      durationMs: 0,
      spawnError: r.spawnError ?? null,
    };
  }

  spawnProcess(argv: readonly string[], _opts?: SpawnOptions): SpawnedProcess {
    this.actions.push({ kind: 'spawn', argv: [...argv] });
    const r = this.builtin(argv);
    return {
      pid: r.code === 0 ? 90000 + this.actions.length : -1,
      exited: new Promise(() => undefined),
      kill: () => true,
    };
  }

  // A mounted path answers as recorded in `probes` (healthy by default); an unmounted one is unknown.
  probe(targets: readonly ProbeTarget[], _opts: ProbeOptions): Promise<ProbeResult[]> {
    return Promise.resolve(
      targets.map(
        (t) =>
          this.probes.get(t.path) ??
          (this.mounts.some((m) => m.mountpoint === t.path)
            ? { state: 'healthy', latencyMs: 0.1 }
            : { state: 'unknown', errno: 'ENOENT', syscall: 'statfs', latencyMs: 0.1 }),
      ),
    );
  }

  // Every answer from probe(), so a test that replaces probe() answers here too.
  probeEach(
    targets: readonly ProbeTarget[],
    opts: ProbeOptions,
    each: (i: number, r: ProbeResult) => void,
  ): Promise<void> {
    return probeEachOf((t, o) => this.probe(t, o), targets, opts, each);
  }

  prepareProbes(): void {
    // nothing to start
  }

  // Recorded; when it succeeds, the namespace's table shows the source's mount at the target in
  // place of the stale copy, as the kernel would after umount2 + move_mount.
  graft(req: GraftRequest): Promise<GraftResult> {
    this.actions.push({ kind: 'graft', req: { ...req, attrs: { ...req.attrs } } });
    const answer = this.graftAnswers.shift() ?? { ok: true };
    const ns = this.processes.get(req.pid)?.mntns;
    if (!answer.ok) return Promise.resolve(answer);
    if (!ns || ns.inode !== req.mntnsInode) return Promise.resolve({ ok: false, errno: 'ESRCH', step: 'namespace' });
    const from = [...this.mounts]
      .reverse()
      .find((m) => req.source === m.mountpoint || req.source.startsWith(`${m.mountpoint.replace(/\/$/, '')}/`));
    if (!from || `${from.major}:${from.minor}` !== req.sourceDevice) {
      return Promise.resolve({ ok: false, errno: 'EXDEV', step: 'source-device' });
    }
    const i = ns.mounts.findIndex((m) => m.id === req.staleMountId);
    if (req.staleMountId !== null && i < 0) return Promise.resolve({ ok: false, errno: 'ESTALE', step: 'stale-check' });
    const parentId = i >= 0 ? ns.mounts[i]!.parentId : (ns.mounts[0]?.id ?? 1);
    if (i >= 0) ns.mounts.splice(i, 1);
    const rest = req.source.slice(from.mountpoint.length).replace(/^\/+/, '');
    const root = rest === '' ? from.root : `${from.root.replace(/\/$/, '')}/${rest}`;
    const a = req.attrs;
    const flags = [
      a.ro ? 'ro' : 'rw',
      ...(a.nosuid ? ['nosuid'] : []),
      ...(a.nodev ? ['nodev'] : []),
      ...(a.noexec ? ['noexec'] : []),
    ];
    ns.mounts.push({ ...from, id: this.nextMountId++, parentId, root, mountpoint: req.target, options: flags });
    return Promise.resolve({ ok: true });
  }

  // The native helper's bind, as the kernel would do it: each path resolved component by component
  // without following a symlink (ELOOP), the inodes compared with the ones asked for (ESTALE), then
  // a bind of the mount under the source, with its root, on top of the target.
  bindTree(req: BindTreeRequest): Promise<BindTreeResult | null> {
    this.actions.push({ kind: 'bind-tree', source: req.source, target: req.target, attrs: [...req.attrs] });
    if (!this.bindHelper) return Promise.resolve(null);
    const resolve = (p: string): FakeInode | { errno: string } => {
      const parts = p.split('/').filter(Boolean);
      let ino: FakeInode | undefined = this.inodes.get('/');
      for (let i = 1; i <= parts.length; i++) {
        ino = this.inodes.get(`/${parts.slice(0, i).join('/')}`);
        if (!ino) return { errno: 'ENOENT' };
        if (ino.type === 'symlink') return { errno: 'ELOOP' };
      }
      return ino!;
    };
    const same = (i: FakeInode, want: { dev: number; ino: number | null } | null): boolean =>
      want === null || (i.dev === want.dev && (want.ino === null || i.ino === want.ino));
    const src = resolve(req.source);
    if ('errno' in src) return Promise.resolve({ ok: false, errno: src.errno, step: 'openat2' });
    if (!same(src, req.sourceId)) return Promise.resolve({ ok: false, errno: 'ESTALE', step: 'source' });
    const dst = resolve(req.target);
    if ('errno' in dst) return Promise.resolve({ ok: false, errno: dst.errno, step: 'openat2-target' });
    if (!same(dst, req.targetId)) return Promise.resolve({ ok: false, errno: 'ESTALE', step: 'target' });
    const under = this.mounts
      .filter(
        (m) => req.source === m.mountpoint || req.source.startsWith(`${m.mountpoint === '/' ? '' : m.mountpoint}/`),
      )
      .sort((a, b) => a.mountpoint.length - b.mountpoint.length)
      .at(-1);
    if (!under) return Promise.resolve({ ok: false, errno: 'EINVAL', step: 'open_tree' });
    const rel = req.source.slice(under.mountpoint === '/' ? 0 : under.mountpoint.length) || '/';
    const m = this.addMount({
      mountpoint: req.target,
      fstype: under.fstype,
      source: under.source,
      major: under.major,
      minor: under.minor,
      root: under.root === '/' ? rel : `${under.root}${rel === '/' ? '' : rel}`,
      options: [...new Set([...under.options, ...req.attrs])],
      superOptions: under.superOptions,
    });
    this.actions.push({ kind: 'mount', mountId: m.id, mountpoint: req.target, argv: ['bind-tree', req.source] });
    return Promise.resolve({ ok: true });
  }

  tcpConnect(_host: string, _port: number, timeoutMs: number): Promise<TcpResult> {
    return Promise.resolve({ ok: false, errno: 'ETIMEDOUT', latencyMs: timeoutMs, timedOut: true });
  }

  signal(pid: number, signal: NodeJS.Signals | 0): boolean {
    this.actions.push({ kind: 'signal', pid, signal });
    if (signal === 'SIGKILL') this.processes.delete(pid);
    return true;
  }

  uid(): number {
    return this.myUid;
  }

  selfPid(): number | null {
    return null;
  }

  hostname(): string {
    return 'fake';
  }

  now(): number {
    return (this.clock += 1);
  }

  bootTimeMs(): Promise<number | null> {
    return Promise.resolve(Date.parse('2026-12-01T00:00:00.000Z'));
  }

  close(): void {
    // nothing to release
  }

  // The commands run, as argv arrays (setpriv and env wrappers included), for assertions.
  execs(): string[][] {
    return this.actions.flatMap((a) => (a.kind === 'exec' ? [a.argv] : []));
  }
}

// The command inside `setpriv ... -- CMD` and `env -i -C DIR K=V ... CMD`.
export function unwrap(argv: readonly string[]): string[] {
  let a = [...argv];
  for (;;) {
    const prog = (a[0] ?? '').split('/').at(-1);
    if (prog === 'setpriv') {
      const i = a.indexOf('--');
      a = i >= 0 ? a.slice(i + 1) : a.slice(1);
      continue;
    }
    if (prog === 'env') {
      let i = 1;
      while (i < a.length && (a[i]!.startsWith('-') || a[i]!.includes('='))) {
        if (a[i] === '-C' || a[i] === '--chdir') i++;
        i++;
      }
      a = a.slice(i);
      continue;
    }
    return a;
  }
}
