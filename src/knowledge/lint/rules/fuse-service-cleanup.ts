import path from 'node:path';
import type { Rule } from '../types.js';
import { splitExec, values, quoteExecArg } from '../systemd-unit.js';

// After a crash the dead mount is still there: the restarted daemon fails with "Transport endpoint
// is not connected" on its own mountpoint. `ExecStartPre=-fusermount -uz MOUNTPOINT` clears it; the
// leading '-' lets the unit start when nothing was mounted (fusermount then fails).
export const fuseServiceCleanup: Rule = {
  id: 'fuse-service-cleanup',
  severity: 'warning',
  summary: 'FUSE service without ExecStartPre=-fusermount -uz',
  check: (t, env) => {
    if (!t.unit?.name.endsWith('.service') || t.mountpoint === '') return null;
    const ok = values(t.unit, 'Service', 'ExecStartPre').some((d) => {
      const { prefixes, argv } = splitExec(d.value);
      const prog = path.basename(argv[0] ?? '');
      const lazy =
        ((prog === 'fusermount' || prog === 'fusermount3') &&
          argv.some((a) => /^-[a-z]*u[a-z]*z|^-[a-z]*z[a-z]*u/.test(a))) ||
        (prog === 'umount' && argv.some((a) => /^-[a-z]*l/.test(a)));
      return prefixes.includes('-') && lazy && argv.includes(t.mountpoint);
    });
    if (ok) return null;
    const line = `-${env.fusermount} -uz ${quoteExecArg(t.mountpoint)}`;
    return {
      message: `${t.unit.name} does not clear a dead mount at ${t.mountpoint} before starting`,
      why: 'after a crash the dead mount stays; the restarted daemon then fails on its own mountpoint with "Transport endpoint is not connected", so Restart= never recovers it',
      fix: `add ExecStartPre=${line} in a drop-in (the '-' lets it fail when nothing is mounted)`,
      change: { kind: 'service', directives: [['ExecStartPre', line]] },
    };
  },
};
