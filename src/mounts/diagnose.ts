// diagnose: the cause of a dead or hung mount, with evidence (issue 3). The collectors run in
// parallel with the probe, each under a deadline, so a hung mount is diagnosed in under 2 s.
import type { Host, ProbeResult } from '../host/types.js';
import { backendFor } from './backends/index.js';
import type { DaemonInfo, Diagnosis, Evidence } from './diagnosis.js';
import { withBudget } from './evidence/budget.js';
import { collectDaemon, goneInfo, readProcessTableBounded, recipePid, type DaemonFindings } from './evidence/daemon.js';
import { collectFusectl, isFuseMount } from './evidence/fusectl.js';
import { collectHolders, walkProcesses } from './evidence/holders.js';
import { collectKmsg, type KmsgFindings } from './evidence/kmsg.js';
import { collectNamespaces } from './evidence/namespaces.js';
import { collectNetwork } from './evidence/network.js';
import { collectOptions } from './evidence/options.js';
import { mountForPath } from './find-mount.js';
import { buildPlan } from './heal/plan.js';
import { preparePlan } from './heal/prepare.js';
import { resolveRecipeFor as resolveRecipe } from './heal/record.js';
import type { Recipe } from './heal/recipe.js';
import type { MountInfo } from './mountinfo/parse.js';
import { rankCauses } from './rank.js';
import { DEFAULT_TYPES, mountKey, mountReport, readMounts, typeMatches } from './scan.js';
import { ancestorsOf, topologyOf } from './mountinfo/topology.js';
import { findFuseDaemonProof, fuseConnectionOf } from './process-table.js';
import { KNOWN_DAEMONS } from './backends/index.js';
import { probeRunAs } from './probe/run-as.js';

export interface DiagnoseOptions {
  timeoutMs?: number; // probe timeout (default 1 s, so a hung mount is diagnosed in under 2 s)
  force?: boolean; // plan as if heal --force were given
}

export const DEFAULT_DIAGNOSE_TIMEOUT_MS = 1000;

// Budgets (ms from the start): the /proc walks, the kernel log, and the recipe lookup.
const WALK_BUDGET_MS = 1300;
const KMSG_BUDGET_MS = 1500;
const RECIPE_BUDGET_MS = 800;

// Diagnose the network or FUSE mount holding `path`; throws ENC_NOT_A_MOUNT for any other path.
export async function diagnose(host: Host, path: string, opts: DiagnoseOptions = {}): Promise<Diagnosis> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DIAGNOSE_TIMEOUT_MS;
  const mount = await mountForPath(host, path);
  const mounts = await readMounts(host);
  const fuse = isFuseMount(mount);
  const deadline = t0 + Math.max(WALK_BUDGET_MS, timeoutMs);
  // Network and FUSE mounts above this one: if one is dead, this mount's path crosses it.
  const above = ancestorsOf(mounts, mount).filter(
    (a) => a.mountpoint !== mount.mountpoint && typeMatches(a.fstype, DEFAULT_TYPES),
  );

  // Started at once and awaited last: the probe is the slowest thing when the mount hangs.
  const probesP = host.probe(
    [mount, ...above].map((m) => ({ key: mountKey(m), path: m.mountpoint, ...probeRunAs(m, host.uid()) })),
    { timeoutMs, concurrency: 1 + above.length },
  );
  const probeP = probesP.then((r) => r[0]!);
  // The process walk goes to the probe engine next, so it runs there while this process reads
  // and parses the kernel log.
  const walkP = walkProcesses(host, mount.mountpoint, deadline);
  const bootMs = await host.bootTimeMs();
  const kmsgP = withBudget<KmsgFindings>(KMSG_BUDGET_MS, { readable: false, events: [] }, () =>
    collectKmsg(host, bootMs),
  ).then((b) => b.value);
  // Read after the probe: a probe stuck in the daemon is itself one of the waiting requests.
  const fusectlP = probeP.then(() => collectFusectl(host, mount));
  const pids = await host.listPids();
  // NFS and CIFS endpoints are all in mountinfo: check the network now, in parallel.
  const earlyNetP = fuse
    ? null
    : collectNetwork(host, backendFor(mount)?.endpoint(mount, { daemonArgv: null }) ?? null);

  const walk = await walkP;
  const devFuseHolders = walk.processes.filter((p) => p.devFuse).map((p) => p.pid);
  // Why only these: every FUSE daemon holds /dev/fuse (fusermount passes it the fd), so argv is read
  // for /dev/fuse holders and for processes whose fds we may not read, not for all 2,000 processes.
  const candidates = walk.processes.filter((p) => p.devFuse || !p.fdsReadable).map((p) => p.pid);
  const table = fuse
    ? await readProcessTableBounded(host, candidates, Math.max(deadline, performance.now() + 200))
    : null;
  const found: DaemonFindings | null = table ? await collectDaemon(host, mount, table, devFuseHolders, mounts) : null;

  const recipe = (
    await withBudget<Recipe | null>(RECIPE_BUDGET_MS, null, () =>
      resolveRecipe(host, mount, found?.info ?? null).catch(() => null),
    )
  ).value;
  let daemon: DaemonInfo | null = found?.info ?? null;
  if (found && found.info.pid === null) daemon = goneInfo(recipe);
  const daemonArgv = daemon?.argv ?? null;

  const backend = backendFor(mount, { daemonArgv });
  const endpoint = backend?.endpoint(mount, { daemonArgv }) ?? null;
  const [network, holders, namespaces, kmsg, fusectl, probe] = await Promise.all([
    earlyNetP ?? collectNetwork(host, endpoint),
    collectHolders(host, walk, new Set(daemon?.pid != null ? [daemon.pid] : [])),
    collectNamespaces(host, walk, mount),
    kmsgP,
    fusectlP,
    probeP,
  ]);

  const probeEvidence = describeProbe(mount, probe);
  const aboveResults = (await probesP).slice(1);
  const deadIdx = aboveResults.findIndex((r) => r.state === 'dead' || r.state === 'hung');
  const deadMount = deadIdx >= 0 ? above[deadIdx]! : null;
  const deadParent = deadMount
    ? {
        mount: deadMount,
        state: aboveResults[deadIdx]!.state,
        daemonGone:
          isFuseMount(deadMount) && table
            ? (await findFuseDaemonProof(host, deadMount, table.processes, KNOWN_DAEMONS)) === null
            : null,
        evidence: describeProbe(deadMount, aboveResults[deadIdx]!),
      }
    : null;
  const daemonNames = [
    ...(daemonArgv?.[0] !== undefined ? [daemonArgv[0]] : []),
    ...(mount.subtype !== null ? [mount.subtype] : []),
    ...(backend?.daemonNames ?? []),
  ];
  const causes = rankCauses({
    mount,
    fuse,
    probe,
    probeEvidence,
    daemon: fuse ? daemon : null,
    daemonEvidence: found?.evidence ?? [],
    daemonNames,
    recordedPid: daemon?.source === 'recipe' ? recipePid(recipe) : null,
    recordedAtMs: daemon?.source === 'recipe' && recipe?.recordedAt ? Date.parse(recipe.recordedAt) : null,
    alivePids: new Set(pids),
    fusectl,
    kmsg,
    network,
    endpoint,
    holders,
    namespaces,
    deadParent,
  });
  if (!kmsg.readable) {
    for (const c of causes) {
      if (c.id === 'daemon-gone') c.evidence.push({ source: 'kmsg', detail: 'the kernel log could not be read' });
    }
  }

  const report = mountReport(mount, probe, {
    backend: backend?.name ?? null,
    endpoint: endpoint?.display ?? null,
    ...(fuse && daemon ? { daemonPid: daemon.pid } : {}),
    ...(found?.proof ? { daemonProof: found.proof } : {}),
    uid: host.uid(),
    all: mounts,
    deadAbove: deadMount,
  });
  const options = collectOptions({
    mount,
    backend: backend?.name ?? null,
    daemonArgv,
    uid: host.uid(),
    holderUids: holders.holders.flatMap((h) => (h.uid !== null ? [h.uid] : [])),
  });
  // Read-only, like everything here: the programs, the owner's home and the cwd check.
  const prep = await preparePlan(host, mount, recipe);
  const plan = buildPlan(
    {
      mount,
      report,
      state: probe.state,
      causes,
      daemon: fuse ? daemon : null,
      holders: holders.holders,
      recipe,
      fuseConnection: fuse ? fuseConnectionOf(mount) : null,
      daemonProgram: prep.daemonProgram,
      ownerHome: prep.ownerHome,
      cwd: prep.cwd,
      cannotRemount: prep.cannotRemount,
    },
    { force: opts.force === true, selfUid: host.uid(), programs: prep.programs },
  );
  return {
    mount: report,
    state: probe.state,
    causes,
    daemon: fuse ? daemon : null,
    fuse: fusectl ? { connection: fusectl.connection, waiting: fusectl.waiting } : null,
    endpoint: endpoint
      ? {
          display: endpoint.display,
          checks: (network?.checks ?? []).map((c) => ({
            host: c.host,
            port: c.port,
            result: c.result,
            latencyMs: c.latencyMs,
          })),
        }
      : null,
    holders: holders.holders,
    namespaces,
    options,
    plan,
    durationMs: Math.round(performance.now() - t0),
    topology: topologyOf(mounts, mount),
  };
}

// The probe's result as one line of evidence.
export function describeProbe(mount: MountInfo, r: ProbeResult): Evidence {
  const mp = mount.mountpoint;
  switch (r.state) {
    case 'healthy':
      return { source: 'probe', detail: `the probe of ${mp} answered in ${r.latencyMs}ms` };
    case 'hung':
      return r.skipped && r.stuckSinceMs !== undefined
        ? {
            source: 'probe',
            detail: `an earlier probe of ${mp} has not returned since ${new Date(r.stuckSinceMs).toISOString()}; no new probe was started`,
          }
        : { source: 'probe', detail: `the probe of ${mp} did not return within ${r.timeoutMs}ms` };
    default:
      return { source: 'probe', detail: `${r.syscall}(${mp}) failed with ${r.errno} in ${r.latencyMs}ms` };
  }
}
