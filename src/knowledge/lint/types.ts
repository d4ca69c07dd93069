// Lint's data model: targets (a mount as one source describes it), findings and fixes.
import type { FstabEntry } from './fstab.js';
import type { UnitFile } from './systemd-unit.js';

export type LintSource = 'fstab' | 'systemd' | 'live';
export type Severity = 'info' | 'warning' | 'error';

// One mount as a source describes it: an fstab line, a .mount or FUSE .service unit, or a live mount.
export interface LintTarget {
  source: LintSource;
  file: string | null;
  line: number | null; // 1-based line of `found` in `file`
  found: string; // the line as written (fstab line, ExecStart=, Options=, or the live mount)
  mountpoint: string;
  fstype: string;
  backend: string | null; // sshfs rclone s3fs gcsfuse blobfuse2 mount-s3 bindfs nfs cifs; null: other
  kind: 'fuse' | 'network';
  options: string[]; // mount options, plus the daemon's -o options and --flags
  argv: string[] | null; // the daemon's argv (ExecStart, or /proc for a live mount)
  // False for a live FUSE mount whose daemon is gone: its -o options cannot be known, so rules
  // about them stay silent rather than guess.
  optionsKnown: boolean;
  comments: string[]; // comment lines right above `found`: where a reason (for `soft`) is written
  fstab?: FstabEntry;
  unit?: UnitFile; // .service or .mount, drop-ins merged
  daemonPid?: number | null;
  oomScoreAdj?: number | null; // live daemons: /proc/<pid>/oom_score_adj
}

// What would fix a finding, as data; fix.ts turns it into an fstab line or a systemd drop-in.
export type Change =
  | { kind: 'add-options'; options: string[] }
  | { kind: 'replace-option'; from: string; to: string }
  | { kind: 'service'; directives: Array<[string, string]> }
  | { kind: 'advice' };

export interface Finding {
  id: string;
  severity: Severity;
  source: LintSource;
  file: string | null;
  line: number | null;
  found: string;
  mountpoint: string;
  message: string;
  why: string;
  fix: string;
  change: Change;
}

// One rule: an id, a severity, which targets it looks at, and the check.
export interface Rule {
  id: string;
  severity: Severity;
  summary: string;
  check(
    t: LintTarget,
    env: RuleEnv,
  ): Omit<Finding, 'id' | 'severity' | 'source' | 'file' | 'line' | 'found' | 'mountpoint'> | null;
}

// What rules may know about the host (never read by the rules themselves).
export interface RuleEnv {
  fusermount: string; // absolute path of fusermount3 (or fusermount) for ExecStartPre
}
