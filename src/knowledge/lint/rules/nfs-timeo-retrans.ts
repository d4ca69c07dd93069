import type { Rule } from '../types.js';
import { has, where } from './options.js';

// nfs(5): over TCP the defaults are timeo=600 (60 s) and retrans=2. Written out, they say when a
// hung server turns into EIO (soft) or a "not responding" message (hard).
export const nfsTimeoRetrans: Rule = {
  id: 'nfs-timeo-retrans',
  severity: 'info',
  summary: 'NFS without timeo/retrans',
  check: (t) => {
    if (t.backend !== 'nfs') return null;
    const missing = [...(has(t, 'timeo') ? [] : ['timeo=600']), ...(has(t, 'retrans') ? [] : ['retrans=2'])];
    if (missing.length === 0) return null;
    return {
      message: `NFS mount ${t.mountpoint} does not set ${missing.map((m) => m.split('=')[0]).join(' or ')}`,
      why: 'the timeout and retry count decide how long a process blocks (hard) or when it gets EIO (soft) when the server stops answering; implicit defaults hide that decision',
      fix: `add '${missing.join(',')}' ${where(t)} (the TCP defaults, made explicit; tune them)`,
      change: { kind: 'add-options', options: missing },
    };
  },
};
