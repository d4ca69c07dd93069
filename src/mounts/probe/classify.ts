import { constants } from 'node:os';
import type { ProbeState } from '../../host/types.js';

type FailedState = Exclude<ProbeState, 'healthy' | 'hung'>;

// Linux errno numbers (asm-generic/errno-base.h, errno.h). Classification goes by the number the
// kernel returned: libuv has no name for some of them (ESTALE 116 reads "Unknown system error -116").
const ERRNO = { EPERM: 1, ENOENT: 2, EIO: 5, EACCES: 13, ECONNABORTED: 103, ENOTCONN: 107, ESTALE: 116 } as const;
// Linux errnos that network and FUSE filesystems return and os.constants.errno lacks.
const EXTRA_NAMES: Record<string, number> = { ECOMM: 70, EHOSTDOWN: 112, EREMOTEIO: 121, ENOMEDIUM: 123 };

const STATE_BY_NUMBER = new Map<number, FailedState>([
  [ERRNO.ENOTCONN, 'dead'], // FUSE: the daemon closed /dev/fuse or the connection was aborted (fuse.rst)
  [ERRNO.ECONNABORTED, 'dead'], // FUSE: connection aborted through /sys/fs/fuse/connections/N/abort
  [ERRNO.ESTALE, 'stale'], // NFS/CIFS (or a FUSE daemon) no longer knows the file handle
  [ERRNO.EIO, 'io-error'],
  [ERRNO.EACCES, 'denied'], // a FUSE mount without allow_other, seen by another user
  [ERRNO.EPERM, 'denied'],
]);

let names: Map<number, string> | null = null;

// The symbolic name of a Linux errno number ("E116" only if even the kernel table lacks it).
export function errnoName(n: number): string {
  if (names === null) {
    names = new Map();
    // Several names share a number (EAGAIN/EWOULDBLOCK, EDEADLK/EDEADLOCK): the first one wins.
    for (const [name, num] of Object.entries(constants.errno)) if (!names.has(num)) names.set(num, name);
    for (const [name, num] of Object.entries({ ...EXTRA_NAMES, ...ERRNO })) names.set(num, name);
  }
  return names.get(n) ?? `E${n}`;
}

// Map the errno number of a failed probe to a state (DESIGN §1). Hung mounts never get here.
export function classifyErrnoNumber(n: number): FailedState {
  return STATE_BY_NUMBER.get(n) ?? 'unknown';
}

// Map the errno name of a failed probe to a state (DESIGN §1), for callers holding a name.
export function classifyProbeErrno(errno: string): FailedState {
  const n = (ERRNO as Record<string, number>)[errno] ?? (constants.errno as Record<string, number>)[errno];
  return n === undefined ? 'unknown' : classifyErrnoNumber(n);
}
