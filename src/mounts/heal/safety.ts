// Safety rules for heal (heal issue, "Safety rules"): what heal refuses, and why, in one line each.
import path from 'node:path';
import type { Host, ProbeState } from '../../host/types.js';
import type { DaemonInfo } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';

// Mountpoints heal never touches: unmounting them takes the system down with them.
export const PROTECTED_MOUNTPOINTS: readonly string[] = ['/', '/proc', '/sys', '/dev', '/run'];

export interface Refusal {
  rule:
    | 'protected-path'
    | 'container-root'
    | 'healthy'
    | 'daemon-alive'
    | 'hung-needs-force'
    | 'locked'
    | 'no-recipe'
    | 'topology' // the mount table's shape (binds, children, stacking) cannot be restored: DESIGN §6
    | 'remount-cannot-work' // the endpoint refuses or the owner cannot log in: never unmount first
    // added: the state is not one heal acts on alone, the recipe is not trusted, the remount could
    // not work (no recipe program, no credentials), or the path is not a plain directory chain
    | 'needs-force'
    | 'untrusted-recipe'
    | 'cannot-remount'
    | 'unsafe-path';
  message: string;
}

// Refuse /, /proc, /sys, /dev, /run (the path itself or the mount holding it).
export function protectedPathRefusal(p: string, mount: MountInfo | null): Refusal | null {
  const abs = path.resolve(p).replace(/(.)\/+$/, '$1');
  const hit = PROTECTED_MOUNTPOINTS.find((x) => x === abs || x === mount?.mountpoint);
  if (!hit) return null;
  return {
    rule: 'protected-path',
    message: `refusing to heal ${hit}: it is a system mount (${PROTECTED_MOUNTPOINTS.join(', ')} are never unmounted by enotconn)`,
  };
}

// Refuse the root filesystem of a container (or chroot): some process has it as its root directory.
// Every process's root link is read in one pass (readProcesses): one request to the helper, where a
// readlink per process cost a round trip each, ~0.15 ms, so 300 ms on a host of 2,000 processes.
export async function containerRootRefusal(host: Host, mount: MountInfo): Promise<Refusal | null> {
  if (mount.mountpoint === '/') return null; // covered by the protected list
  for (const e of (await host.readProcesses(['root'])).entries) {
    if (e.root === mount.mountpoint) {
      return {
        rule: 'container-root',
        message: `refusing to heal ${mount.mountpoint}: it is the root filesystem of a container or chroot (pid ${e.pid} runs with it as /)`,
      };
    }
  }
  return null;
}

// Refuse by state, unless --force: heal acts alone only on a `dead` mount (and a `stale` network
// mount) whose daemon is gone. A healthy, denied, unknown, io-error or hung mount, or one whose
// daemon is alive, may hold data a remount would lose (io-error: dirty pages; denied: a healthy
// mount that refuses us), so it needs --force.
export function stateRefusal(
  state: ProbeState,
  daemon: DaemonInfo | null,
  force: boolean,
  kind: 'fuse' | 'network',
): Refusal | null {
  if (force) return null;
  if (state === 'healthy') {
    return { rule: 'healthy', message: 'refusing to heal: the mount is healthy (pass --force to remount it anyway)' };
  }
  const alive = daemon !== null && daemon.pid !== null && daemon.source === 'proc' && daemon.state !== 'Z';
  if (state === 'hung') {
    if (kind === 'fuse' && alive && (daemon.state === 'T' || daemon.state === 't')) {
      return {
        rule: 'hung-needs-force',
        message: `refusing to heal without --force: the daemon (pid ${daemon.pid}) is stopped (state ${daemon.state}), so requests wait for it; healing aborts the connection and loses writes in flight. Resume it with 'kill -CONT ${daemon.pid}', or pass --force`,
      };
    }
    return {
      rule: 'hung-needs-force',
      message:
        kind === 'fuse'
          ? `refusing to heal without --force: the mount is hung${alive ? ` and its daemon (pid ${daemon.pid}) is alive` : ''}; healing aborts the FUSE connection and loses writes in flight. Pass --force`
          : 'refusing to heal without --force: the mount is hung (the server does not answer); a forced or lazy unmount loses writes in flight. Pass --force',
    };
  }
  // A daemon that is alive is still serving (or can be resumed): a remount would cut its work short.
  if (kind === 'fuse' && alive) {
    return {
      rule: 'daemon-alive',
      message: `refusing to heal without --force: the daemon (pid ${daemon.pid}) is alive (the probe says ${state}); pass --force to restart it`,
    };
  }
  if (state === 'dead' || (state === 'stale' && kind === 'network')) return null;
  const why: Record<string, string> = {
    denied: 'the mount refuses us (EACCES/EPERM) but may be healthy for its users',
    unknown: 'the probe gave an error heal does not know how to judge',
    'io-error': 'the backend answers with EIO; an unmount may drop dirty pages',
    stale: 'the daemon answers ESTALE',
  };
  return {
    rule: 'needs-force',
    message: `refusing to heal without --force: the mount is ${state} (${why[state] ?? 'not dead'}); pass --force to remount it anyway`,
  };
}
