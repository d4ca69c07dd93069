import type { Rule } from '../types.js';
import { has, where } from './options.js';

// Without ServerAlive*, a silently dropped connection is only noticed after TCP gives up (minutes
// to hours); sshfs hangs meanwhile. ServerAliveInterval=15 with CountMax=3 detects it in 45 s.
export const sshfsKeepalive: Rule = {
  id: 'sshfs-keepalive',
  severity: 'warning',
  summary: 'sshfs without ServerAliveInterval/ServerAliveCountMax',
  check: (t) => {
    if (t.backend !== 'sshfs' || !t.optionsKnown) return null;
    const missing = [
      ...(has(t, 'ServerAliveInterval', true) ? [] : ['ServerAliveInterval=15']),
      ...(has(t, 'ServerAliveCountMax', true) ? [] : ['ServerAliveCountMax=3']),
    ];
    if (missing.length === 0) return null;
    return {
      message: `sshfs mount ${t.mountpoint} has no ${missing.map((m) => m.split('=')[0]).join(' or ')}`,
      why: 'without ssh keep-alives a dead network path is noticed only when TCP gives up, which takes minutes; until then every access to the mount hangs',
      fix: `add '${missing.join(',')}' ${where(t)}`,
      change: { kind: 'add-options', options: missing },
    };
  },
};
