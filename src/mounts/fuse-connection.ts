// Which process serves a FUSE mount: the one holding an open /dev/fuse file of that mount's
// connection. The connection id is the minor device number of the mount (st_dev is 0:N and
// /sys/fs/fuse/connections/N is named by it); the kernel prints it for each /dev/fuse fd as
// `fuse_connection:` in /proc/PID/fdinfo/FD (fs/fuse/dev.c, fuse_dev_show_fdinfo). An argv that
// names the mountpoint is only a hint: any process can put any path in its argv.
import type { Host } from '../host/types.js';

export type ConnectionProof =
  | { holds: true; fd: number }
  // `unknown`: the fds could not be read (another user's process seen by a non-root enotconn) or
  // the kernel does not print fuse_connection (before Linux 6.x): no proof either way.
  | { holds: false; why: 'no-dev-fuse' | 'other-connection' | 'unknown'; detail: string };

// Does `pid` hold an open /dev/fuse fd of the connection `connection` (the mount's minor number)?
// `owner` (the mount's user_id=) settles what the kernel cannot say: a process of another uid
// holding unlabelled /dev/fuse fds is not the daemon.
export async function daemonHoldsConnection(
  host: Host,
  pid: number,
  connection: number,
  owner: number | null = null,
): Promise<ConnectionProof> {
  const fds = await host.readDir(host.proc(pid, 'fd'));
  if (fds === null) return { holds: false, why: 'unknown', detail: `the fds of pid ${pid} cannot be read` };
  const seen: number[] = [];
  let devFuse = 0;
  let unlabelled = 0;
  for (const fd of fds) {
    if ((await host.readLink(host.proc(pid, 'fd', fd))) !== '/dev/fuse') continue;
    devFuse++;
    const info = await host.readText(host.proc(pid, 'fdinfo', fd), 4096);
    const m = info ? /^fuse_connection:\s*(\d+)/m.exec(info) : null;
    if (!m) {
      unlabelled++;
      continue;
    }
    const n = Number(m[1]);
    if (n === connection) return { holds: true, fd: Number(fd) };
    seen.push(n);
  }
  if (devFuse === 0) return { holds: false, why: 'no-dev-fuse', detail: `pid ${pid} holds no /dev/fuse fd` };
  // A kernel that labels /dev/fuse fds labels every fd attached to a connection: on such a kernel
  // an fd without the label serves no mount at all (opened, never mounted: an impostor's).
  if (unlabelled > 0 && seen.length === 0 && (await kernelLabelsConnections(host))) {
    return {
      holds: false,
      why: 'other-connection',
      detail: `pid ${pid} holds /dev/fuse fds attached to no connection`,
    };
  }
  if (unlabelled > 0 && seen.length === 0 && owner !== null) {
    const status = await host.readText(host.proc(pid, 'status'), 4096);
    const uid = status ? Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? NaN) : NaN;
    if (Number.isFinite(uid) && uid !== owner) {
      return {
        holds: false,
        why: 'other-connection',
        detail: `pid ${pid} holds /dev/fuse but runs as uid ${uid}, and the mount belongs to user_id=${owner}`,
      };
    }
  }
  if (unlabelled > 0 && seen.length === 0) {
    return {
      holds: false,
      why: 'unknown',
      detail: `pid ${pid} holds /dev/fuse, but the kernel does not say which connection (no fuse_connection in fdinfo)`,
    };
  }
  return {
    holds: false,
    why: 'other-connection',
    detail: `pid ${pid} holds /dev/fuse for connection ${seen.join(', ')}, not ${connection}`,
  };
}

const labels = new WeakMap<Host, Promise<boolean>>();

// Does this kernel print `fuse_connection:` in /dev/fuse fdinfo? Yes when any /dev/fuse fd of any
// process shows it (asked once per host; with no FUSE mount anywhere the answer is "don't know").
export function kernelLabelsConnections(host: Host): Promise<boolean> {
  let p = labels.get(host);
  if (!p) {
    p = (async () => {
      for (const pid of await host.listPids()) {
        for (const fd of (await host.readDir(host.proc(pid, 'fd'))) ?? []) {
          if ((await host.readLink(host.proc(pid, 'fd', fd))) !== '/dev/fuse') continue;
          const info = await host.readText(host.proc(pid, 'fdinfo', fd), 4096);
          if (info && /^fuse_connection:/m.test(info)) return true;
        }
      }
      labels.delete(host); // "don't know" is asked again next time
      return false;
    })();
    labels.set(host, p);
  }
  return p;
}

// The process holding the /dev/fuse fd of `connection`, among every process; null when none does.
export async function connectionHolder(host: Host, connection: number): Promise<number | null> {
  for (const pid of await host.listPids()) {
    if ((await daemonHoldsConnection(host, pid, connection)).holds) return pid;
  }
  return null;
}
