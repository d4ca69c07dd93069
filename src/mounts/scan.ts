import type { Host, ProbeResult } from '../host/types.js';
import { parseMountinfo, optionValue, type MountInfo } from './mountinfo/parse.js';
import { backendFor, KNOWN_DAEMONS } from './backends/index.js';
import { findFuseDaemonProof, readProcessTable, type DaemonProof, type ProcessInfo } from './process-table.js';
import { ancestorsOf, topologyOf, type MountRef } from './mountinfo/topology.js';
import { earlyParse } from '../host/probe-early.js';
import { DEFAULT_TYPES, mountKey, probeTarget, selectMounts, topMounts, typeMatches } from './select.js';

// Which mounts a scan covers lives in select.ts (the CLI's entry uses it too, before this loads).
export { DEFAULT_TYPES, mountKey, selectMounts, typeMatches };

export interface ScanOptions {
  all: boolean;
  types: readonly string[] | null; // null: DEFAULT_TYPES
  timeoutMs: number;
  concurrency: number;
  paths?: readonly string[]; // only mounts at or under these paths (absolute, lexical)
}

// One mount's health, as `scan --json` prints it (DESIGN §2). Fields may be added, never renamed.
export interface MountReport {
  id: number;
  mountpoint: string;
  source: string;
  fstype: string;
  backend: string | null;
  options: string[]; // super options (what the filesystem was mounted with)
  mountOptions: string[]; // per-mount options (rw, nosuid, relatime...)
  state: ProbeResult['state'];
  errno?: string;
  syscall?: 'statfs' | 'lstat';
  latencyMs?: number;
  timeoutMs?: number;
  stuckSince?: string; // an earlier probe of this mount has not returned since then
  probeSkipped?: boolean; // no new probe was started because one is still stuck
  endpoint?: string;
  daemonPid?: number | null;
  ownerUid?: number; // FUSE user_id=
  note?: string; // why the state could not be judged, or what it means here
  // Identity and topology (DESIGN §6), added fields:
  device?: string; // "major:minor" of the superblock; for FUSE, 0:N is /sys/fs/fuse/connections/N
  root?: string; // the mount's root within its filesystem (mountinfo field 4)
  parentId?: number;
  daemonProof?: DaemonProof; // how daemonPid is tied to the mount: fdinfo (proof) or argv-hint
  binds?: MountRef[]; // other mounts of the same superblock
  stackedOn?: MountRef; // the mount this one hides on the same path
  stackedUnder?: MountRef; // the mount that hides this one
  children?: MountRef[]; // mounts attached under this one
  deadParent?: MountRef; // a dead or hung mount above this one, through which its path is reached
}

export interface ScanReport {
  host: string;
  scannedAt: string;
  durationMs: number;
  mounts: MountReport[];
}

// Read and parse this process's mount table.
export async function readMounts(host: Host, pid: number | 'self' = 'self'): Promise<MountInfo[]> {
  const text = await host.readText(host.proc(pid, 'mountinfo'));
  if (text === null) return [];
  return earlyParse(text) ?? parseMountinfo(text);
}

// What a scan read on its way (not part of the printed report): the mount table and the process
// table, so that work done right after it (recording daemons' recipes) need not read /proc again.
export interface ScanDetails {
  mounts: readonly MountInfo[];
  processes: readonly ProcessInfo[]; // read with stat and FUSE connections; [] without FUSE mounts
}
const details = new WeakMap<ScanReport, ScanDetails>();

// The mount table a report was built from; undefined for a report this process did not make.
export function scanDetails(report: ScanReport): ScanDetails | undefined {
  return details.get(report);
}

// Probe every covered mount without ever hanging, and report each one's state.
export async function scanMounts(host: Host, opts: ScanOptions): Promise<ScanReport> {
  const t0 = performance.now();
  const scannedAt = new Date(host.now()).toISOString();
  host.prepareProbes(opts.concurrency); // the probe child starts while we read the mount table
  const all = await readMounts(host);
  const chosen = selectMounts(all, opts);

  const topByPath = topMounts(all);
  const probeable = chosen.filter((m) => topByPath.get(m.mountpoint) === m);
  const selfUid = host.uid();
  const probePromise = host.probe(
    probeable.map((m) => probeTarget(m, selfUid)),
    { timeoutMs: opts.timeoutMs, concurrency: opts.concurrency },
  );

  // While probes run, find the daemon of every FUSE mount (type is the main type, so fuse.sshfs
  // counts): a bare `fuse` mount's backend is known only from it, and heal records its recipe.
  const needDaemon = chosen.some((m) => m.type === 'fuse' || m.type === 'fuseblk');
  // One pass over /proc gives every process's argv, stat and FUSE connections (the native helper
  // reads them in one request): each mount's daemon is then found without another read.
  const table: ProcessInfo[] = needDaemon ? await readProcessTable(host, { fuse: true }) : [];
  const daemons = new Map<MountInfo, ProcessInfo | null>();
  const proofs = new Map<MountInfo, DaemonProof>();
  if (needDaemon) {
    await Promise.all(
      chosen
        .filter((m) => m.type === 'fuse' || m.type === 'fuseblk')
        .map(async (m) => {
          const found = await findFuseDaemonProof(host, m, table, KNOWN_DAEMONS);
          daemons.set(m, found?.process ?? null);
          if (found) proofs.set(m, found.proof);
        }),
    );
  }
  const results = await probePromise;
  const byMount = new Map<MountInfo, ProbeResult>();
  probeable.forEach((m, i) => byMount.set(m, results[i]!));

  const uid = host.uid();
  const mounts = chosen.map((m): MountReport => {
    const daemon = daemons.get(m) ?? null;
    const backend = backendFor(m, { daemonArgv: daemon?.argv ?? null });
    const endpoint = backend?.endpoint(m, { daemonArgv: daemon?.argv ?? null });
    const ctx = {
      backend: backend?.name ?? null,
      endpoint: endpoint?.display ?? null,
      ...(daemons.has(m) ? { daemonPid: daemon?.pid ?? null } : {}),
      ...(proofs.has(m) ? { daemonProof: proofs.get(m)! } : {}),
      uid,
      all,
      deadAbove: deadAncestor(all, m, byMount),
    };
    const r = byMount.get(m);
    if (r) return mountReport(m, r, ctx);
    const top = topByPath.get(m.mountpoint)!;
    return {
      ...mountReport(m, null, ctx),
      errno: 'ESHADOWED',
      note: `over-mounted by mount ${top.id} (${top.fstype}); it cannot be probed${
        daemons.has(m) && daemon === null && proofs.size > 0
          ? `, and no process serves its FUSE connection ${m.minor}: it is dead underneath`
          : ''
      }`,
    };
  });
  const report: ScanReport = {
    host: host.hostname(),
    scannedAt,
    durationMs: Math.round(performance.now() - t0),
    mounts,
  };
  details.set(report, { mounts: all, processes: table });
  return report;
}

// The nearest mount above `m` (its parent chain) whose probe found it dead or hung: `m`'s path is
// reached through it, so `m` fails too whatever its own daemon does.
export function deadAncestor(
  all: readonly MountInfo[],
  m: MountInfo,
  results: ReadonlyMap<MountInfo, ProbeResult>,
): MountInfo | null {
  return (
    ancestorsOf(all, m).find((a) => {
      const st = results.get(a)?.state;
      return a.mountpoint !== m.mountpoint && (st === 'dead' || st === 'hung');
    }) ?? null
  );
}

// One mount's report, as `scan --json` prints it and diagnose embeds it ("as in scan", DESIGN §2).
// Without a probe result (an over-mounted mount) the state stays `unknown`. With the mount table
// (`all`), the report names the mount's identity and topology.
export function mountReport(
  m: MountInfo,
  r: ProbeResult | null,
  ctx: {
    backend: string | null;
    endpoint: string | null;
    daemonPid?: number | null;
    daemonProof?: DaemonProof;
    uid: number;
    all?: readonly MountInfo[];
    deadAbove?: MountInfo | null;
  },
): MountReport {
  const report = baseReport(m, r, ctx);
  if (!ctx.all) return report;
  const topo = topologyOf(ctx.all, m);
  const dead = ctx.deadAbove ?? null;
  return {
    ...report,
    device: topo.device,
    root: topo.root,
    parentId: topo.parentId,
    ...(ctx.daemonProof !== undefined ? { daemonProof: ctx.daemonProof } : {}),
    ...(topo.binds.length > 0 ? { binds: topo.binds } : {}),
    ...(topo.stackedOn ? { stackedOn: topo.stackedOn } : {}),
    ...(topo.stackedUnder ? { stackedUnder: topo.stackedUnder } : {}),
    ...(topo.children.length > 0 ? { children: topo.children } : {}),
    ...(dead
      ? {
          deadParent: {
            id: dead.id,
            mountpoint: dead.mountpoint,
            root: dead.root,
            fstype: dead.fstype,
            deleted: dead.deleted,
          },
          ...(report.state !== 'healthy'
            ? {
                note: `reached through mount ${dead.id} on ${dead.mountpoint} (${dead.fstype}), which is dead or hung: heal that mount first${ctx.daemonPid ? `; this mount's own daemon (pid ${ctx.daemonPid}) is alive` : ''}`,
              }
            : {}),
        }
      : {}),
  };
}

function baseReport(
  m: MountInfo,
  r: ProbeResult | null,
  ctx: { backend: string | null; endpoint: string | null; daemonPid?: number | null; uid: number },
): MountReport {
  const owner = optionValue(m.superOptions, 'user_id');
  const base: MountReport = {
    id: m.id,
    mountpoint: m.mountpoint,
    source: m.source,
    fstype: m.fstype,
    backend: ctx.backend,
    options: m.superOptions,
    mountOptions: m.options,
    state: 'unknown',
    ...(ctx.endpoint !== null ? { endpoint: ctx.endpoint } : {}),
    ...(ctx.daemonPid !== undefined ? { daemonPid: ctx.daemonPid } : {}),
    ...(owner !== undefined ? { ownerUid: Number(owner) } : {}),
  };
  return r ? { ...base, ...probeFields(r), ...noteFor(m, r, ctx.uid) } : base;
}

function probeFields(r: ProbeResult): Partial<MountReport> & { state: ProbeResult['state'] } {
  switch (r.state) {
    case 'healthy':
      return { state: 'healthy', latencyMs: r.latencyMs };
    case 'hung':
      return {
        state: 'hung',
        timeoutMs: r.timeoutMs,
        ...(r.stuckSinceMs !== undefined ? { stuckSince: new Date(r.stuckSinceMs).toISOString() } : {}),
        ...(r.skipped ? { probeSkipped: true } : {}),
      };
    default:
      return { state: r.state, errno: r.errno, syscall: r.syscall, latencyMs: r.latencyMs };
  }
}

function noteFor(m: MountInfo, r: ProbeResult, uid: number): { note?: string } {
  const owner = optionValue(m.superOptions, 'user_id');
  if (r.state === 'denied') {
    if (
      (m.type === 'fuse' || m.type === 'fuseblk') &&
      !m.superOptions.includes('allow_other') &&
      owner !== String(uid)
    ) {
      return {
        note: `not judged: FUSE mount of uid ${owner ?? '?'} without allow_other; only that user can reach its daemon, so run enotconn as uid ${owner ?? '?'}`,
      };
    }
    return { note: `not judged: permission denied for uid ${uid}; run as root or as the mount's owner` };
  }
  if (r.state === 'hung' && r.skipped) {
    return { note: 'an earlier probe of this mount has not returned; no new probe was started' };
  }
  return {};
}
