// --propagate (heal issue, "Mount namespaces"): processes in other mount namespaces (containers
// with private propagation, `unshare -m`) keep their copy of the dead mount after the host is healed.
// For each such namespace: detach the dead copy, then attach a clone of the host's healed mount.
//
// Why not `nsenter -t PID -m -- mount --bind /proc/<host-pid>/root/<mp> <mp>`: mount(8) canonicalizes
// the source inside the target namespace (/proc/<pid>/root reads back as "/"), so it silently binds
// the namespace's own empty directory; and mount(2) refuses a bind source from another namespace
// (fs/namespace.c may_copy_tree). The new mount API allows it: open_tree(OPEN_TREE_CLONE) in the
// host namespace gives a detached copy, and move_mount(2) attaches it after setns(2) into the
// target namespace (the way systemd's `machinectl bind` does it). util-linux 2.38 has no command
// for that, so two fixed perl one-liners make the two syscalls (perl-base is on every Debian
// system); paths travel only as argv, never inside the program text. Syscall numbers 428
// (open_tree) and 429 (move_mount) are the same on every architecture but alpha.
import path from 'node:path';
import type { Host } from '../../host/types.js';
import type { NamespaceView, PlanStep } from '../diagnosis.js';
import { parseMountinfo, type MountInfo } from '../mountinfo/parse.js';
import { program, type ProgramName } from '../../host/programs.js';
import { runAsArgv } from './plan.js';

// The programs run inside another mount namespace, by absolute path. After setns(2) a path
// resolves in that namespace's tree, which a container's owner controls: each one must be the very
// file the host has (same device and inode through /proc/PID/root), or nothing runs there.
export const IN_NAMESPACE: readonly string[] = ['umount', 'perl', 'setpriv', 'stat', 'sha256sum'];

// Null when every program in IN_NAMESPACE is, inside the namespace of `pid`, the host's own file;
// otherwise the first one that is not.
export async function foreignBinary(host: Host, pid: number): Promise<string | null> {
  const paths = IN_NAMESPACE.map((n) => program(n as ProgramName));
  const r = await host.exec(
    ['stat', '-L', '--printf=%d:%i\n', '--', ...paths, ...paths.map((p) => host.proc(pid, 'root') + p)],
    { timeoutMs: NS_TIMEOUT_MS },
  );
  const lines = r.stdout.split('\n');
  for (let i = 0; i < paths.length; i++) {
    if (r.code !== 0 || !lines[i] || lines[i] !== lines[i + paths.length]) return paths[i]!;
  }
  return null;
}

// open_tree(AT_FDCWD, path, OPEN_TREE_CLONE) without CLOEXEC, then exec the rest of argv with the
// fd number in place of the word {fd}.
export const OPEN_TREE_PL =
  'my $p = "" . shift @ARGV; my $fd = syscall(428, -100, $p, 1); die "open_tree $p: $!\\n" if $fd < 0; ' +
  'exec { $ARGV[0] } map { $_ eq "{fd}" ? $fd : $_ } @ARGV or die "exec $ARGV[0]: $!\\n";';
// move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH).
export const MOVE_MOUNT_PL =
  'my ($fd, $t) = @ARGV; my $e = ""; my $d = "" . $t; ' +
  'syscall(429, $fd + 0, $e, -100, $d, 4) == 0 or die "move_mount $t: $!\\n";';

const NS_TIMEOUT_MS = 5_000;

// The steps that re-attach the healed mount inside one namespace.
export function propagationSteps(view: NamespaceView, hostMountpoint: string): PlanStep[] {
  const pid = String(view.pids[0]);
  const where = `in mount namespace ${view.mntns} (pid ${pid}, ${view.comm})`;
  return [
    {
      action: 'unmount-lazy',
      argv: [
        program('nsenter'),
        '-t',
        pid,
        '-m',
        '--',
        program('umount'),
        '--no-canonicalize',
        '-l',
        '--',
        view.mountpoint,
      ],
      inNamespace: { pid: Number(pid), mntns: view.mntns },
      timeoutMs: NS_TIMEOUT_MS,
      risk: 'caution',
      why: `detach the dead copy ${where}`,
    },
    {
      action: 'remount',
      argv: [
        program('perl'),
        '-e',
        OPEN_TREE_PL,
        '--',
        hostMountpoint,
        program('nsenter'),
        '-t',
        pid,
        '-m',
        '--',
        program('perl'),
        '-e',
        MOVE_MOUNT_PL,
        '--',
        '{fd}',
        view.mountpoint,
      ],
      inNamespace: { pid: Number(pid), mntns: view.mntns },
      timeoutMs: NS_TIMEOUT_MS,
      risk: 'safe',
      why: `attach a clone of the healed host mount ${where} (open_tree + move_mount)`,
    },
  ];
}

export interface NamespaceCheck {
  mntns: string;
  pid: number;
  mountpoint: string;
  ok: boolean;
  detail: string;
}

// Does the namespace now see the healed mount (same device), and does it answer there?
export async function verifyNamespace(
  host: Host,
  view: NamespaceView,
  healed: MountInfo,
  owner: { uid: number; gid: number; user?: string },
  samplePath: string | null,
  sampleSha: string | null,
): Promise<NamespaceCheck> {
  const pid = view.pids[0]!;
  const base = { mntns: view.mntns, pid, mountpoint: view.mountpoint };
  const text = await host.readText(host.proc(pid, 'mountinfo'));
  let mine: MountInfo | undefined;
  try {
    mine = text
      ? parseMountinfo(text)
          .filter((m) => m.mountpoint === view.mountpoint)
          .at(-1)
      : undefined;
  } catch {
    mine = undefined;
  }
  if (!mine || mine.major !== healed.major || mine.minor !== healed.minor) {
    return { ...base, ok: false, detail: `the namespace does not see the healed mount at ${view.mountpoint}` };
  }
  const inNs = (argv: string[]): string[] => [
    program('nsenter'),
    '-t',
    String(pid),
    '-m',
    '--',
    ...runAsArgv(argv, owner, host.uid()),
  ];
  const st = await host.exec(inNs([program('stat'), '-f', '-c', '%t', '--', view.mountpoint]), {
    timeoutMs: NS_TIMEOUT_MS,
  });
  if (st.code !== 0) return { ...base, ok: false, detail: `statfs in the namespace failed: ${st.stderr.trim()}` };
  if (samplePath && sampleSha) {
    const r = await host.exec(inNs([program('sha256sum'), '--', path.join(view.mountpoint, samplePath)]), {
      timeoutMs: NS_TIMEOUT_MS,
    });
    if (!r.stdout.startsWith(sampleSha)) {
      return { ...base, ok: false, detail: `${samplePath} does not read back in the namespace: ${r.stderr.trim()}` };
    }
    return { ...base, ok: true, detail: `sees the healed mount; ${samplePath} reads back with the same content` };
  }
  return { ...base, ok: true, detail: 'sees the healed mount and it answers' };
}

// True when the namespace already sees `healed` at its mountpoint (shared propagation did it).
export async function namespaceSeesHealed(host: Host, view: NamespaceView, healed: MountInfo): Promise<boolean> {
  const text = await host.readText(host.proc(view.pids[0]!, 'mountinfo'));
  try {
    const top = text
      ? parseMountinfo(text)
          .filter((m) => m.mountpoint === view.mountpoint)
          .at(-1)
      : undefined;
    return top !== undefined && top.major === healed.major && top.minor === healed.minor;
  } catch {
    return false;
  }
}
