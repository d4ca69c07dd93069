import type { Rule } from '../types.js';

// nfs(5): "soft" returns EIO after retrans timeouts, which "can result in silent data corruption".
// Acceptable for read-mostly caches, so a reason written in a comment right above the line is honoured.
export const nfsSoft: Rule = {
  id: 'nfs-soft',
  severity: 'warning',
  summary: 'NFS soft without a reason',
  check: (t) => {
    if (t.backend !== 'nfs') return null;
    const soft = t.options.find((o) => o === 'soft' || o === 'softerr');
    if (!soft) return null;
    if (t.comments.some((c) => /\bsoft\b/i.test(c))) return null;
    return {
      message: `NFS mount ${t.mountpoint} uses '${soft}' with no reason given`,
      why: 'with soft, a slow or unreachable server turns reads and writes into EIO after retrans timeouts; applications rarely handle that and data can be silently lost (nfs(5))',
      fix: `use 'hard' (the default), or keep '${soft}' and write the reason in a comment line right above it (e.g. "# soft: scratch cache, EIO is acceptable")`,
      change: { kind: 'replace-option', from: soft, to: 'hard' },
    };
  },
};
