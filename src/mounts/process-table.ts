import path from 'node:path';
import type { Host } from '../host/types.js';
import { parseProcStat, readCmdline } from '../host/proc.js';

// One process as /proc shows it.
export interface ProcessInfo {
  pid: number;
  argv: string[];
  comm: string;
  state: string;
  ppid: number;
  startTicks: number;
}

const BATCH = 128;

// Every process with its argv and stat, read in parallel batches. Kernel threads have argv [].
export async function readProcessTable(host: Host): Promise<ProcessInfo[]> {
  const pids = await host.listPids();
  const out: ProcessInfo[] = [];
  for (let i = 0; i < pids.length; i += BATCH) {
    const batch = await Promise.all(
      pids.slice(i, i + BATCH).map(async (pid) => {
        const [statText, argv] = await Promise.all([host.readText(host.proc(pid, 'stat')), readCmdline(host, pid)]);
        const st = statText === null ? null : parseProcStat(pid, statText);
        if (!st || argv === null) return null;
        return { pid, argv, comm: st.comm, state: st.state, ppid: st.ppid, startTicks: st.startTicks };
      }),
    );
    for (const p of batch) if (p) out.push(p);
  }
  return out;
}

// True when the process holds /dev/fuse open (a FUSE daemon does; fusermount passes it the fd).
export async function holdsDevFuse(host: Host, pid: number): Promise<boolean> {
  const fds = await host.readDir(host.proc(pid, 'fd'));
  if (!fds) return false;
  for (const fd of fds) {
    if ((await host.readLink(host.proc(pid, 'fd', fd))) === '/dev/fuse') return true;
  }
  return false;
}

function basename(p: string | undefined): string {
  return p === undefined ? '' : p.slice(p.lastIndexOf('/') + 1);
}

// The process that serves a FUSE mount: its argv names the mountpoint (absolute, or relative to
// its cwd), and it holds /dev/fuse, or runs a known FUSE daemon program. Null when none is found.
export async function findFuseDaemon(
  host: Host,
  mount: { mountpoint: string; source: string; subtype: string | null },
  table: readonly ProcessInfo[],
  knownDaemons: ReadonlySet<string>,
): Promise<ProcessInfo | null> {
  const want = stripSlash(mount.mountpoint);
  const scored: Array<{ p: ProcessInfo; score: number }> = [];
  for (const p of table) {
    if (p.pid === process.pid || p.argv.length < 2 || p.state === 'Z') continue;
    let named = false;
    for (const a of p.argv.slice(1)) {
      if (a.startsWith('-')) continue;
      if (stripSlash(a) === want) named = true;
      else if (!a.startsWith('/') && a.length > 0) {
        const cwd = await host.readLink(host.proc(p.pid, 'cwd'));
        if (cwd && stripSlash(path.resolve(cwd, a)) === want) named = true;
      }
      if (named) break;
    }
    if (!named) continue;
    const prog = basename(p.argv[0]);
    let score = 1;
    if (knownDaemons.has(prog) || (mount.subtype !== null && prog === mount.subtype)) score += 2;
    if (p.argv.includes(mount.source)) score += 1;
    scored.push({ p, score });
  }
  scored.sort((a, b) => b.score - a.score || a.p.pid - b.p.pid);
  for (const { p, score } of scored) {
    if (await holdsDevFuse(host, p.pid)) return p;
    // Without permission to read another user's fds, trust a known daemon program.
    if (score >= 3 && (await host.readDir(host.proc(p.pid, 'fd'))) === null) return p;
  }
  // A parent that forked the daemon (rclone --daemon, sshfs without -f) exits; a supervisor may not.
  return scored.find((s) => s.score >= 3)?.p ?? null;
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
