// The diagnose contract (DESIGN §2 "diagnose" JSON): types shared by evidence collectors,
// diagnose.ts, heal/plan.ts, explain, runbook and watch. Fields may be added, never renamed.
import type { ProbeState } from '../host/types.js';
import type { MountReport } from './scan.js';
import type { MountTopology } from './mountinfo/topology.js';

// The closed set of cause ids (DESIGN §2). Add new ones to DESIGN first.
export const CAUSE_IDS = [
  'daemon-gone',
  'daemon-oom-killed',
  'daemon-stopped',
  'daemon-hung',
  'backend-unreachable',
  'stale-handle',
  'mount-busy',
  'unknown',
] as const;
export type CauseId = (typeof CAUSE_IDS)[number];

export type EvidenceSource =
  'mountinfo' | 'probe' | 'daemon' | 'fusectl' | 'kmsg' | 'network' | 'holders' | 'options' | 'recipe' | 'namespaces';

// One observed fact, quoted as seen (a kernel log line, a /proc value, a connect result).
export interface Evidence {
  source: EvidenceSource;
  detail: string;
  at?: string; // ISO wall-clock time of the fact, when it has one (kmsg)
}

export interface Cause {
  id: CauseId;
  confidence: number; // 0..1
  summary: string;
  evidence: Evidence[];
  parentMount?: { id: number; mountpoint: string }; // the cause lies in this mount above (a dead parent)
}

// The FUSE daemon of a mount: from /proc when alive, from the recipe store when gone.
export interface DaemonInfo {
  pid: number | null;
  argv: string[] | null;
  uid: number | null;
  gid: number | null;
  comm: string | null;
  state: string | null; // R S D T t Z, null when gone
  startedAt: string | null; // ISO
  source: 'proc' | 'recipe' | 'none';
  // How the live daemon is tied to the mount: 'fdinfo' (it holds the mount's /dev/fuse connection,
  // proof) or 'argv-hint' (its argv names the path; the kernel or permissions give no proof).
  proof?: 'fdinfo' | 'argv-hint';
}

// A process that keeps the mount busy; never killed by enotconn, only reported.
export interface Holder {
  pid: number;
  comm: string;
  uid: number | null;
  user: string | null;
  how: Array<'cwd' | 'root' | 'fd' | 'map' | 'exe'>;
  paths: string[]; // what it holds, as /proc shows it
}

// One copy of the mount inside another namespace, as that namespace's mountinfo shows it.
export interface NamespaceCopy {
  mountId: number; // in that namespace
  mountpoint: string; // as that namespace sees it
  root: string; // field 4: the subtree the copy shows (a subPath bind shows a subdirectory)
  options: string[]; // per-mount options: ro, nosuid, nodev, noexec are kept by a re-graft
}

// A mount namespace other than ours that still sees the mount (a container, an unshare -m).
export interface NamespaceView {
  mntns: string; // "mnt:[4026532xxx]"
  pids: number[];
  comm: string;
  mountpoint: string; // the first copy's mountpoint (copies[0])
  copies: NamespaceCopy[]; // every mount of that superblock there, in mount order
  pidStart: number | null; // start ticks of pids[0]: a reused pid is never entered
}

export type PlanAction =
  | 'abort-connection'
  | 'unmount'
  | 'unmount-lazy'
  | 'unmount-force'
  | 'remount'
  | 'restart-unit'
  | 'report-holders'
  | 'graft'
  | 'none';

// A re-graft of the healed mount into another mount namespace (DESIGN §8), done by the native
// helper from the host; nothing runs in that namespace.
export interface GraftStep {
  pid: number;
  pidStart: number | null; // the pid must still be this process (start ticks)
  mntns: string; // "mnt:[N]": the pid must still be in it
  source: string; // host path: the healed mount, or its subdirectory the copy showed
  sourceDevice: string; // "major:minor" of the healed mount
  root: string; // the root the grafted mount must show there (the copy's own)
  target: string; // path inside the namespace
  staleMountId: number | null; // the dead copy there, detached first
  attrs: { ro: boolean; nosuid: boolean; nodev: boolean; noexec: boolean };
}

// One remediation step, exact enough that --dry-run shows precisely what would run.
export interface PlanStep {
  action: PlanAction;
  argv?: string[]; // run with no shell
  write?: { path: string; data: string }; // a file write (fusectl abort)
  signal?: { pid: number; signals: string[]; graceMs: number }; // stop a wedged daemon (with --force)
  runAs?: number; // uid the step runs as
  // The mount the step acts on, by identity: the executor re-reads mountinfo and refuses the step
  // when the path now names another mount (DESIGN section 6).
  target?: { mountId: number; device: string; mountpoint: string };
  graft?: GraftStep; // action 'graft'; sourceDevice is filled in once the mount is healed
  timeoutMs?: number;
  risk: 'safe' | 'caution' | 'destructive';
  why: string;
  requiresForce?: boolean;
  // The mount this step acts on (DESIGN §6): re-read from mountinfo just before the step runs; the
  // step does not run when its path names another mount by then.
  mount?: { id: number; parentId: number; major: number; minor: number; root: string; mountpoint: string };
  phase?: 'before-unmount' | 'after-remount'; // topology steps: when they run around the main heal
  // A bind step (mount --bind / --rbind): the per-mount flags the new mount must have. The native
  // helper sets them before attaching it (mount_setattr); mount(8) leaves them to the bind
  // remount step planned after it.
  mountAttrs?: Array<'ro' | 'nosuid' | 'nodev' | 'noexec'>;
}

// A risky or missing option, for prevention (lint ids shared with `enotconn lint`).
export interface OptionFinding {
  id: string;
  severity: 'info' | 'warning' | 'error';
  message: string;
  fix: string;
}

export interface Diagnosis {
  mount: MountReport;
  state: ProbeState;
  causes: Cause[]; // best first
  daemon: DaemonInfo | null; // null for NFS/CIFS
  fuse: { connection: number; waiting: number | null } | null;
  endpoint: {
    display: string;
    checks: Array<{ host: string; port: number; result: string; latencyMs: number }>;
  } | null;
  holders: Holder[];
  namespaces: NamespaceView[];
  options: OptionFinding[];
  plan: PlanStep[];
  durationMs: number;
  topology?: MountTopology; // binds of the superblock, stacked mounts, children, parent (DESIGN §6)
}
