import path from 'node:path';
import type { Host } from '../host/types.js';
import { parseProcStat } from '../host/proc.js';
import type { FuseFds, ProcEntry, ProcField } from '../host/proc-entry.js';

// One process as /proc shows it.
export interface ProcessInfo {
  pid: number;
  argv: string[];
  comm: string;
  state: string;
  ppid: number;
  startTicks: number;
  // The FUSE connections it serves, when the table was read with them (readProcessTable `fuse`).
  fuse?: FuseFds | null;
}

function infoOf(e: ProcEntry, argvOnly: boolean): ProcessInfo | null {
  const argv = e.argv ?? null;
  if (argv === null) return null;
  const fuse = e.fuse !== undefined ? { fuse: e.fuse } : {};
  if (argvOnly) {
    return argv.length === 0 ? null : { pid: e.pid, argv, comm: '', state: '', ppid: 0, startTicks: 0, ...fuse };
  }
  const st = e.stat ? parseProcStat(e.pid, e.stat) : null;
  if (!st) return null;
  return { pid: e.pid, argv, comm: st.comm, state: st.state, ppid: st.ppid, startTicks: st.startTicks, ...fuse };
}

// One process's argv and stat, or null when it is gone (or unreadable).
export async function readProcessInfo(host: Host, pid: number): Promise<ProcessInfo | null> {
  return infoOf(await host.readProcess(pid, ['argv', 'stat']), false);
}

// Every process with its argv and stat, in one pass over /proc. Kernel threads have argv [].
// With argvOnly, stat is not read (comm, state, ppid and startTicks are left empty), and processes
// without argv are left out. With `fuse`, each process's FUSE connections are read in the same pass
// (scan: the daemon of every FUSE mount is then known without another read).
export async function readProcessTable(
  host: Host,
  opts: { argvOnly?: boolean; fuse?: boolean } = {},
): Promise<ProcessInfo[]> {
  const what: ProcField[] = opts.argvOnly ? ['argv'] : ['argv', 'stat'];
  if (opts.fuse) what.push('fuse');
  const out: ProcessInfo[] = [];
  for (const e of (await host.readProcesses(what)).entries) {
    const p = infoOf(e, opts.argvOnly === true);
    if (p) out.push(p);
  }
  return out;
}

// True when the process holds /dev/fuse open (a FUSE daemon does; fusermount passes it the fd).
export async function holdsDevFuse(host: Host, pid: number): Promise<boolean> {
  const { fds } = await host.readProcess(pid, ['fds']);
  return (fds ?? []).some((f) => f.target === '/dev/fuse');
}

function basename(p: string | undefined): string {
  return p === undefined ? '' : p.slice(p.lastIndexOf('/') + 1);
}

// Index of every path named in any process's argv (relative ones resolved against that process's
// cwd, read once per process), built once per process table and shared by every mount's lookup.
const pathIndexes = new WeakMap<readonly ProcessInfo[], Promise<Map<string, ProcessInfo[]>>>();

function pathIndex(host: Host, table: readonly ProcessInfo[]): Promise<Map<string, ProcessInfo[]>> {
  let idx = pathIndexes.get(table);
  if (!idx) {
    idx = (async () => {
      const map = new Map<string, ProcessInfo[]>();
      const add = (key: string, p: ProcessInfo): void => {
        const list = map.get(key);
        if (!list) map.set(key, [p]);
        else if (!list.includes(p)) list.push(p);
      };
      await Promise.all(
        table.map(async (p) => {
          if (p.pid === process.pid || p.argv.length < 2 || p.state === 'Z') return;
          const args = p.argv.slice(1).filter((a) => a.length > 0 && !a.startsWith('-'));
          const relative = args.filter((a) => !a.startsWith('/'));
          const cwd = relative.length > 0 ? ((await host.readProcess(p.pid, ['cwd'])).cwd ?? null) : null;
          for (const a of args) {
            if (a.startsWith('/')) add(stripSlash(a), p);
            else if (cwd) add(stripSlash(path.resolve(cwd, a)), p);
          }
        }),
      );
      return map;
    })();
    pathIndexes.set(table, idx);
  }
  return idx;
}

// How a daemon was tied to its mount, strongest first:
// - fdinfo: it holds an open /dev/fuse fd whose /proc/<pid>/fdinfo names the mount's connection
//   (`fuse_connection:`, printed by fs/fuse/dev.c fuse_dev_show_fdinfo since Linux 6.16). Proof.
// - argv-hint: the kernel cannot show connections (older kernels) or this process may not read the
//   candidate's fds; it names the mountpoint in its argv, holds /dev/fuse (when readable) and runs
//   as the mount's user_id=. A hint, never proof: another process of that user can look the same.
export type DaemonProof = 'fdinfo' | 'argv-hint';

export interface FoundDaemon {
  process: ProcessInfo;
  proof: DaemonProof;
}

// The FUSE connection number of a mount as fdinfo prints it: the kernel's dev_t of the superblock
// (fc->dev = sb->s_dev), MKDEV(major, minor) = major << 20 | minor (include/linux/kdev_t.h). For the
// anonymous devices of fuse mounts (major 0) it is the minor, the /sys/fs/fuse/connections/N name.
export function fuseConnectionOf(m: { major: number; minor: number }): number {
  return m.major * 2 ** 20 + m.minor;
}

// The FUSE connections a process serves: the `fuse_connection:` of each /dev/fuse fd it holds.
// null when its fds cannot be read; `unattached` counts /dev/fuse fds that show no connection (not
// mounted yet, or a kernel that does not print it).
export async function fuseConnectionsOf(host: Host, pid: number): Promise<FuseFds | null> {
  return (await host.readProcess(pid, ['fuse'])).fuse ?? null;
}

// The FUSE connections of a table's process: read with the table, or now.
function connectionsOf(host: Host, p: ProcessInfo): Promise<FuseFds | null> | FuseFds | null {
  return p.fuse !== undefined ? p.fuse : fuseConnectionsOf(host, p.pid);
}

// True when this kernel prints `fuse_connection:` in /dev/fuse fdinfo: Linux 6.16 and later by its
// release, or (a backported kernel, a fake /proc) when any process's /dev/fuse fd shows the line.
// The scan's yes is kept per host; its "don't know" is asked again next time.
export async function kernelShowsFuseConnection(host: Host): Promise<boolean> {
  const rel = await host.readText(host.proc('sys', 'kernel', 'osrelease'));
  const m = rel === null ? null : /^(\d+)\.(\d+)/.exec(rel.trim());
  if (m) {
    const [maj, min] = [Number(m[1]), Number(m[2])];
    if (maj > 6 || (maj === 6 && min >= 16)) return true;
  }
  if (labelsSeen.has(host)) return true;
  for (const pid of await host.listPids()) {
    if (((await fuseConnectionsOf(host, pid))?.connections.length ?? 0) > 0) {
      labelsSeen.add(host);
      return true;
    }
  }
  return false;
}

const labelsSeen = new WeakSet<Host>();

// Why a process is, or is not, a FUSE mount's daemon by the kernel's word (DESIGN section 7).
export type ConnectionProof =
  | { holds: true }
  // `unknown`: its fds cannot be read (another user's process seen without root), or the kernel
  // does not label /dev/fuse fds (before Linux 6.16): no proof either way.
  | { holds: false; why: 'no-dev-fuse' | 'other-connection' | 'unknown'; detail: string };

// Does `pid` hold an open /dev/fuse fd of `mount`'s connection (fdinfo `fuse_connection:`, read by
// fuseConnectionsOf)? `owner` (the mount's user_id=) settles what an unlabelling kernel cannot: a
// process of another uid holding unlabelled /dev/fuse fds is not the daemon.
export async function daemonHoldsConnection(
  host: Host,
  pid: number,
  mount: { major: number; minor: number },
  owner: number | null = null,
): Promise<ConnectionProof> {
  const conn = fuseConnectionOf(mount);
  const c = await fuseConnectionsOf(host, pid);
  if (c === null) return { holds: false, why: 'unknown', detail: `the fds of pid ${pid} cannot be read` };
  if (c.connections.includes(conn)) return { holds: true };
  if (c.connections.length === 0 && c.unattached === 0) {
    return { holds: false, why: 'no-dev-fuse', detail: `pid ${pid} holds no /dev/fuse fd` };
  }
  if (c.connections.length > 0) {
    return {
      holds: false,
      why: 'other-connection',
      detail: `pid ${pid} holds /dev/fuse for connection ${c.connections.join(', ')}, not ${conn}`,
    };
  }
  // Only unlabelled fds. A kernel that labels /dev/fuse fds labels every fd attached to a
  // connection: there, an fd without the label serves no mount at all (an impostor's).
  if (await kernelShowsFuseConnection(host)) {
    return {
      holds: false,
      why: 'other-connection',
      detail: `pid ${pid} holds /dev/fuse fds attached to no connection`,
    };
  }
  if (owner !== null) {
    const uid = await uidOf(host, pid);
    if (uid !== null && uid !== owner) {
      return {
        holds: false,
        why: 'other-connection',
        detail: `pid ${pid} holds /dev/fuse but runs as uid ${uid}, and the mount belongs to user_id=${owner}`,
      };
    }
  }
  return {
    holds: false,
    why: 'unknown',
    detail: `pid ${pid} holds /dev/fuse, but the kernel does not say which connection (no fuse_connection in fdinfo)`,
  };
}

async function uidOf(host: Host, pid: number): Promise<number | null> {
  const status = await host.readText(host.proc(pid, 'status'), 4096);
  const uid = status === null ? undefined : /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return uid === undefined ? null : Number(uid);
}

// The process holding `mount`'s FUSE connection (fdinfo proof), among every process; null when none.
export async function connectionHolder(host: Host, mount: { major: number; minor: number }): Promise<number | null> {
  const holders = (await connectionIndex(host, await readProcessTable(host))).get(fuseConnectionOf(mount)) ?? [];
  return holders.length > 0 ? Math.min(...holders.map((p) => p.pid)) : null;
}

const BATCH = 128;

// connection -> pids holding it, over every process of a table; built once per table, only when a
// mount's daemon was not found among the processes its argv hints at.
const connIndexes = new WeakMap<readonly ProcessInfo[], Promise<Map<number, ProcessInfo[]>>>();

function connectionIndex(host: Host, table: readonly ProcessInfo[]): Promise<Map<number, ProcessInfo[]>> {
  let idx = connIndexes.get(table);
  if (!idx) {
    idx = (async () => {
      const map = new Map<number, ProcessInfo[]>();
      const live = table.filter((p) => p.pid !== process.pid && p.state !== 'Z');
      for (let i = 0; i < live.length; i += BATCH) {
        await Promise.all(
          live.slice(i, i + BATCH).map(async (p) => {
            const c = await connectionsOf(host, p);
            for (const n of c?.connections ?? []) {
              const list = map.get(n);
              if (!list) map.set(n, [p]);
              else list.push(p);
            }
          }),
        );
      }
      return map;
    })();
    connIndexes.set(table, idx);
  }
  return idx;
}

// True when every process of the table was read with its FUSE connections (asked once per table).
const withConnections = new WeakMap<readonly ProcessInfo[], boolean>();
function carriesConnections(table: readonly ProcessInfo[]): boolean {
  let yes = withConnections.get(table);
  if (yes === undefined) {
    yes = table.length > 0 && table.every((p) => p.fuse !== undefined);
    withConnections.set(table, yes);
  }
  return yes;
}

// What daemon attribution needs to know of a mount.
export interface DaemonMount {
  mountpoint: string;
  source: string;
  subtype: string | null;
  major: number;
  minor: number;
  superOptions?: readonly string[];
}

// The process that serves a FUSE mount, and how that is known (see DaemonProof). On a kernel that
// prints fdinfo connections, only a holder of the mount's connection is its daemon: a process whose
// argv names the path but serves another connection (the other layer of a stacked mount, an
// impostor) never is. Null when none is found.
export async function findFuseDaemonProof(
  host: Host,
  mount: DaemonMount,
  table: readonly ProcessInfo[],
  knownDaemons: ReadonlySet<string>,
): Promise<FoundDaemon | null> {
  const conn = fuseConnectionOf(mount);
  // A table read with every process's FUSE connections answers at once when exactly one process
  // holds this one: it is the daemon (whatever argv says), and no cwd is read for the argv hints.
  if (carriesConnections(table)) {
    const holders = (await connectionIndex(host, table)).get(conn) ?? [];
    if (holders.length === 1) return { process: holders[0]!, proof: 'fdinfo' };
  }
  const candidates = (await pathIndex(host, table)).get(stripSlash(mount.mountpoint)) ?? [];
  const scored = candidates.map((p) => {
    const prog = basename(p.argv[0]);
    let score = 1;
    if (knownDaemons.has(prog) || (mount.subtype !== null && prog === mount.subtype)) score += 2;
    if (p.argv.includes(mount.source)) score += 1;
    return { p, score };
  });
  scored.sort((a, b) => b.score - a.score || a.p.pid - b.p.pid);
  // Proof first: a hinted process holding the connection, else any process of the table holding it
  // (a forked daemon whose argv names the mountpoint relatively, a moved mountpoint, fd passing).
  const unreadable: Array<{ p: ProcessInfo; score: number }> = [];
  let sawConnections = false;
  for (const s of scored) {
    const c = await connectionsOf(host, s.p);
    if (c === null) {
      unreadable.push(s);
      continue;
    }
    if (c.connections.length > 0) sawConnections = true;
    if (c.connections.includes(conn)) return { process: s.p, proof: 'fdinfo' };
  }
  const holders = (await connectionIndex(host, table)).get(conn) ?? [];
  if (holders.length > 0) {
    // Several holders (a daemon and a helper it passed the fd to): prefer the one the argv hints at.
    holders.sort((a, b) => Number(candidates.includes(b)) - Number(candidates.includes(a)) || a.pid - b.pid);
    return { process: holders[0]!, proof: 'fdinfo' };
  }
  if (sawConnections || (await kernelShowsFuseConnection(host))) {
    // The kernel shows connections and nobody readable holds this one: the daemon is gone, whatever
    // argv says. Only a process whose fds we may not read (another user's, without root) is left as a hint.
    for (const s of unreadable) {
      if (s.score >= 3 && (await ownerMatches(host, s.p, mount))) return { process: s.p, proof: 'argv-hint' };
    }
    return null;
  }
  // An older kernel: the argv hint, cross-checked with /dev/fuse and the mount's user_id=.
  for (const { p, score } of scored) {
    if (!(await ownerMatches(host, p, mount))) continue;
    if (scored.length === 1 && score >= 3) return { process: p, proof: 'argv-hint' };
    if (await holdsDevFuse(host, p.pid)) return { process: p, proof: 'argv-hint' };
    if (score >= 3 && (await host.readDir(host.proc(p.pid, 'fd'))) === null) return { process: p, proof: 'argv-hint' };
  }
  return null;
}

// The process serving a FUSE mount (findFuseDaemonProof without the proof).
export async function findFuseDaemon(
  host: Host,
  mount: DaemonMount,
  table: readonly ProcessInfo[],
  knownDaemons: ReadonlySet<string>,
): Promise<ProcessInfo | null> {
  return (await findFuseDaemonProof(host, mount, table, knownDaemons))?.process ?? null;
}

// True when the process runs as the mount's user_id= (or the mount names none, or uid is unreadable).
async function ownerMatches(host: Host, p: ProcessInfo, mount: { superOptions?: readonly string[] }): Promise<boolean> {
  const want = (mount.superOptions ?? []).find((o) => o.startsWith('user_id='))?.slice('user_id='.length);
  if (want === undefined) return true;
  const status = await host.readText(host.proc(p.pid, 'status'));
  const uid = status === null ? null : /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return uid === undefined || uid === null || uid === want;
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
