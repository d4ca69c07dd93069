import type { Rule } from '../types.js';
import { has } from './options.js';

// systemd.mount(5): `_netdev` orders the mount after the network (systemd guesses it for nfs and
// cifs, never for fuse.sshfs or rclone); `nofail` keeps an unreachable server from sending the
// boot into emergency mode.
export const fstabNetdevNofail: Rule = {
  id: 'fstab-netdev-nofail',
  severity: 'warning',
  summary: 'network mount in fstab without _netdev or nofail',
  check: (t) => {
    if (t.source !== 'fstab' || t.backend === 'bindfs') return null;
    if (has(t, 'noauto')) return null; // not mounted at boot
    const missing = [...(has(t, '_netdev') ? [] : ['_netdev']), ...(has(t, 'nofail') ? [] : ['nofail'])];
    if (missing.length === 0) return null;
    return {
      message: `network mount ${t.mountpoint} in fstab has no ${missing.join(' or ')}`,
      why: 'without _netdev the mount may be tried before the network is up; without nofail an unreachable server stops the boot in emergency mode',
      fix: `add '${missing.join(',')}' to the fstab options`,
      change: { kind: 'add-options', options: missing },
    };
  },
};
