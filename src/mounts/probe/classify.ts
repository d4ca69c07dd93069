import type { ProbeState } from '../../host/types.js';

// Map the errno of a failed probe to a state (DESIGN §1). Hung mounts never get here: they time out.
export function classifyProbeErrno(errno: string): Exclude<ProbeState, 'healthy' | 'hung'> {
  switch (errno) {
    case 'ENOTCONN': // FUSE: the daemon closed /dev/fuse or the connection was aborted (fuse.rst)
    case 'ECONNABORTED': // FUSE: connection aborted through /sys/fs/fuse/connections/N/abort
      return 'dead';
    case 'ESTALE':
      return 'stale';
    case 'EIO':
      return 'io-error';
    case 'EACCES':
    case 'EPERM':
      return 'denied';
    default:
      return 'unknown';
  }
}
