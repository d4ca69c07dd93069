// The options collector: risky or missing mount options, for prevention. sshfs options live in
// the daemon's argv (mountinfo does not show them); NFS and FUSE ones in mountinfo's super options.
import { argvOptions } from '../backends/types.js';
import type { OptionFinding } from '../diagnosis.js';
import { optionValue, type MountInfo } from '../mountinfo/parse.js';

export interface OptionsInput {
  mount: MountInfo;
  backend: string | null;
  daemonArgv: readonly string[] | null;
  uid: number; // who runs diagnose
  holderUids: readonly number[]; // users whose processes use the mount
}

// Flag options that make a mount fail hard or fail silently.
export function collectOptions(input: OptionsInput): OptionFinding[] {
  const { mount, backend, daemonArgv } = input;
  const out: OptionFinding[] = [];
  const fuse = mount.type === 'fuse' || mount.type === 'fuseblk';
  if (backend === 'sshfs') {
    if (daemonArgv === null) {
      out.push({
        id: 'sshfs-options-unknown',
        severity: 'info',
        message: "sshfs's options are in its command line, and neither the daemon nor a recorded recipe is available",
        fix: 'record the mount with enotconn watch so its argv is kept',
      });
    } else {
      const opts = argvOptions(daemonArgv).map((o) => o.toLowerCase());
      // Why: without reconnect, sshfs exits when its ssh session drops and the mount dies with ENOTCONN.
      if (!opts.includes('reconnect')) {
        out.push({
          id: 'sshfs-no-reconnect',
          severity: 'warning',
          message: 'sshfs runs without -o reconnect: it exits when the ssh connection drops, leaving ENOTCONN',
          fix: 'add -o reconnect',
        });
      }
      if (!opts.some((o) => o.startsWith('serveraliveinterval='))) {
        out.push({
          id: 'sshfs-no-server-alive',
          severity: 'warning',
          message: 'sshfs runs without ServerAliveInterval: a silent network drop hangs the mount until TCP gives up',
          fix: 'add -o ServerAliveInterval=15,ServerAliveCountMax=3',
        });
      }
    }
  }
  if (mount.type === 'nfs' || mount.type === 'nfs4') {
    if (mount.superOptions.includes('soft')) {
      out.push({
        id: 'nfs-soft',
        severity: 'warning',
        message:
          'NFS mounted soft: requests fail with EIO after retrans timeouts, which can corrupt data being written',
        fix: 'mount with hard (the default), and use timeo/retrans to bound waits',
      });
    }
    if (optionValue(mount.superOptions, 'timeo') === undefined) {
      out.push({
        id: 'nfs-no-timeo',
        severity: 'info',
        message: 'NFS mount without an explicit timeo',
        fix: 'set timeo=600 (60 s, the TCP default) or a value you chose',
      });
    }
  }
  if (fuse && !mount.superOptions.includes('allow_other')) {
    const owner = optionValue(mount.superOptions, 'user_id');
    const ownerUid = owner !== undefined ? Number(owner) : null;
    const others = [...new Set(input.holderUids)].filter((u) => u !== ownerUid);
    const otherUser = ownerUid !== null && input.uid !== ownerUid;
    out.push({
      id: 'fuse-no-allow-other',
      severity: others.length > 0 || otherUser ? 'warning' : 'info',
      message:
        others.length > 0 || otherUser
          ? `FUSE mount without allow_other: only uid ${owner ?? '?'} can use it, yet uid ${[...others, ...(otherUser ? [input.uid] : [])].join(', ')} needs it`
          : `FUSE mount without allow_other: only uid ${owner ?? '?'} (and not root's services) can use it`,
      fix: 'add -o allow_other (with user_allow_other in /etc/fuse.conf for non-root owners)',
    });
  }
  return out;
}
