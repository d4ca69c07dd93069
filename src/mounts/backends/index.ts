import type { MountInfo } from '../mountinfo/parse.js';
import type { Backend, BackendContext } from './types.js';
import { sshfs } from './sshfs.js';
import { rclone } from './rclone.js';
import { s3fs } from './s3fs.js';
import { gcsfuse } from './gcsfuse.js';
import { blobfuse } from './blobfuse.js';
import { mountpointS3 } from './mountpoint-s3.js';
import { bindfs } from './bindfs.js';
import { nfs } from './nfs.js';
import { cifs } from './cifs.js';
import { networkGeneric } from './network-generic.js';
import { fuseGeneric } from './fuse-generic.js';

export type { Backend, BackendContext, Endpoint } from './types.js';

// Order matters: specific backends first, the generic ones last.
export const BACKENDS: readonly Backend[] = [
  sshfs,
  rclone,
  s3fs,
  gcsfuse,
  blobfuse,
  mountpointS3,
  bindfs,
  nfs,
  cifs,
  networkGeneric,
  fuseGeneric,
];

// The backend serving a mount, or null for a local filesystem.
export function backendFor(m: MountInfo, ctx: BackendContext = { daemonArgv: null }): Backend | null {
  return BACKENDS.find((b) => b.matches(m, ctx)) ?? null;
}

// Basenames of every known FUSE daemon, for finding daemons in /proc.
export const KNOWN_DAEMONS: ReadonlySet<string> = new Set(BACKENDS.flatMap((b) => b.daemonNames));
