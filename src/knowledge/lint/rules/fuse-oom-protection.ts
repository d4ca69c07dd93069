import type { Rule } from '../types.js';
import { last } from '../systemd-unit.js';

// The OOM killer picks the biggest process; a caching FUSE daemon (rclone, s3fs) often is, and its
// death turns every mount user's next access into ENOTCONN. OOMScoreAdjust= or MemoryMin=/MemoryLow=
// (systemd.exec(5), systemd.resource-control(5)) protect it.
export const fuseOomProtection: Rule = {
  id: 'fuse-oom-protection',
  severity: 'warning',
  summary: 'FUSE daemon without OOM protection',
  check: (t) => {
    if (t.kind !== 'fuse') return null;
    const why =
      'the OOM killer picks the largest process, often a caching FUSE daemon; when it dies every process using the mount gets ENOTCONN';
    if (t.source === 'live') {
      if (t.oomScoreAdj === null || t.oomScoreAdj === undefined || t.oomScoreAdj < 0) return null;
      return {
        message: `the daemon of ${t.mountpoint} (pid ${t.daemonPid ?? '?'}) has oom_score_adj ${t.oomScoreAdj}`,
        why,
        fix: `start it from a unit with OOMScoreAdjust=-500 (or MemoryMin=); for now: echo -500 > /proc/${t.daemonPid ?? 'PID'}/oom_score_adj`,
        change: { kind: 'advice' },
      };
    }
    if (!t.unit) return null;
    const section = t.unit.name.endsWith('.mount') ? 'Mount' : 'Service';
    const adj = Number(last(t.unit, section, 'OOMScoreAdjust')?.value ?? '0');
    const reserved = last(t.unit, section, 'MemoryMin') ?? last(t.unit, section, 'MemoryLow');
    if (adj < 0 || reserved) return null;
    return {
      message: `${t.unit.name} runs a FUSE daemon with no OOMScoreAdjust= below 0 and no MemoryMin=/MemoryLow=`,
      why,
      fix: 'add OOMScoreAdjust=-500 in a drop-in (or reserve memory with MemoryMin=)',
      change: { kind: 'service', directives: [['OOMScoreAdjust', '-500']] },
    };
  },
};
