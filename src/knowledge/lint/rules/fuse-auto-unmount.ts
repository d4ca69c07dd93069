import type { Rule } from '../types.js';
import { has, where } from './options.js';

// libfuse's auto_unmount (fusermount3 stays behind and unmounts when the daemon dies) turns a dead
// mount into an empty directory instead of ENOTCONN. Supported where the daemon is built on libfuse
// (sshfs, bindfs, s3fs) and by mount-s3 as --auto-unmount; rclone, gcsfuse and blobfuse2 are not
// listed because they do not document it. Info only: a vanished mount lets writes land on the
// underlying directory, which some setups prefer to avoid.
const SUPPORTED: Record<string, string> = {
  sshfs: 'auto_unmount',
  bindfs: 'auto_unmount',
  s3fs: 'auto_unmount',
  'mount-s3': '--auto-unmount',
};

export const fuseAutoUnmount: Rule = {
  id: 'fuse-auto-unmount',
  severity: 'info',
  summary: 'FUSE mount without auto_unmount where supported',
  check: (t) => {
    const opt = t.backend ? SUPPORTED[t.backend] : undefined;
    if (t.kind !== 'fuse' || !opt || !t.optionsKnown || has(t, opt)) return null;
    if (opt.startsWith('--') && t.source === 'fstab') return null;
    return {
      message: `${t.backend} mount ${t.mountpoint} has no ${opt}`,
      why: 'if the daemon dies, the mount stays behind dead (ENOTCONN for every access) until someone unmounts it; auto_unmount removes it at once',
      fix: opt.startsWith('--') ? `add ${opt} to the ExecStart= command` : `add '${opt}' ${where(t)}`,
      change: { kind: 'add-options', options: [opt] },
    };
  },
};
