// Ranking: combine the collectors' findings into causes with a confidence, best first. Every cause
// cites the evidence behind it. The weights are judgement, written down once here.
import type { ProbeResult, ProbeState } from '../host/types.js';
import type { Endpoint } from './backends/types.js';
import type { Cause, DaemonInfo, Evidence, Holder, NamespaceView } from './diagnosis.js';
import { stateName } from './evidence/daemon.js';
import type { FusectlFindings } from './evidence/fusectl.js';
import type { HolderFindings } from './evidence/holders.js';
import { eventsForDaemon, unansweredServers, type KernelEvent, type KmsgFindings } from './evidence/kmsg.js';
import { hostPort, type NetworkFindings } from './evidence/network.js';
import type { MountInfo } from './mountinfo/parse.js';

export interface RankInput {
  mount: MountInfo;
  fuse: boolean;
  probe: ProbeResult;
  probeEvidence: Evidence;
  daemon: DaemonInfo | null; // null for network filesystems
  daemonEvidence: Evidence[];
  daemonNames: string[]; // program names the daemon may have (for kmsg comm matching)
  recordedPid: number | null; // the gone daemon's pid, when a recipe remembers it
  recordedAtMs: number | null; // when the recipe was recorded (the daemon was alive then)
  alivePids: ReadonlySet<number>;
  fusectl: FusectlFindings | null;
  kmsg: KmsgFindings;
  network: NetworkFindings | null;
  endpoint: Endpoint | null;
  holders: HolderFindings;
  namespaces: NamespaceView[];
  // A dead or hung mount above this one: this mount's path is reached through it.
  deadParent?: { mount: MountInfo; state: ProbeState; daemonGone: boolean | null; evidence: Evidence } | null;
}

function kmsgEvidence(e: KernelEvent): Evidence {
  return { source: 'kmsg', detail: e.line, ...(e.at !== null ? { at: e.at } : {}) };
}

function clock(iso: string | null): string {
  return iso === null ? 'an unknown time' : iso.slice(11, 19);
}

// The ranked causes for one mount; [] when the mount is healthy and nothing is wrong.
export function rankCauses(input: RankInput): Cause[] {
  const { probe, daemon, fusectl, network, holders } = input;
  const state: ProbeState = probe.state;
  const causes: Cause[] = [];
  const failing = state !== 'healthy' && state !== 'denied';
  const netFailed = network?.checks.filter((c) => c.result !== 'ok') ?? [];
  const netOk = network !== null && netFailed.length === 0;
  const servers = unansweredServers(input.kmsg.events);
  const ep = input.endpoint;
  const serverEvents = [...servers.values()].filter(
    (e) =>
      ep !== null &&
      (e.server === ep.host ||
        (ep.display.startsWith('//') && ep.display.startsWith(`//${e.server}/`)) ||
        sourceHost(input.mount.source) === e.server),
  );

  // The daemon: gone (maybe OOM-killed or crashed), stopped, or hung.
  if (input.fuse && daemon && daemon.pid === null && state !== 'healthy') {
    const matches = eventsForDaemon(input.kmsg.events, {
      pid: input.recordedPid,
      names: input.daemonNames,
      sinceMs: input.recordedAtMs,
    })
      // A pid that is alive again belongs to another process now.
      .filter((m) => m.by === 'pid' || !input.alivePids.has(m.event.pid!));
    const oom = matches.filter((m) => m.event.kind === 'oom-kill').at(-1);
    const crash = matches.filter((m) => m.event.kind === 'segfault').at(-1);
    const goneEvidence: Evidence[] = [...input.daemonEvidence, input.probeEvidence];
    if (daemon.source === 'recipe' && daemon.argv) {
      goneEvidence.push({ source: 'recipe', detail: `recorded argv: ${daemon.argv.join(' ')}` });
    }
    if (oom) {
      const e = oom.event;
      causes.push({
        id: 'daemon-oom-killed',
        confidence: oom.by === 'pid' ? 0.95 : 0.85,
        summary: `${e.comm ?? 'the daemon'} (pid ${e.pid}) was killed by the OOM killer at ${clock(e.at)}`,
        evidence: [kmsgEvidence(e), ...goneEvidence],
      });
    }
    causes.push({
      id: 'daemon-gone',
      // The missing daemon is what makes the mount dead; a failed connect (ranked below) can only
      // say why it may have exited, so it never outranks this.
      confidence: oom ? 0.5 : 0.9,
      summary: crash
        ? `the FUSE daemon ${crash.event.comm} (pid ${crash.event.pid}) crashed at ${clock(crash.event.at)}; the mount is left without a daemon`
        : `the FUSE daemon serving ${input.mount.mountpoint} is gone${daemon.argv ? ` (it was: ${daemon.argv.join(' ')})` : ''}`,
      evidence: [...(crash ? [kmsgEvidence(crash.event)] : []), ...goneEvidence],
    });
  } else if (input.fuse && daemon && daemon.pid !== null) {
    if (daemon.state === 'T' || daemon.state === 't') {
      causes.push({
        id: 'daemon-stopped',
        confidence: failing ? 0.95 : 0.6,
        summary: `${daemon.comm} (pid ${daemon.pid}) is ${stateName(daemon.state)}: FUSE requests wait until it gets SIGCONT`,
        evidence: [...input.daemonEvidence, ...(fusectl?.evidence ?? []), input.probeEvidence],
      });
    } else {
      const waiting = fusectl?.waiting ?? 0;
      const hungTasks = input.kmsg.events.filter(
        (e) => e.kind === 'hung-task' && (e.pid === daemon.pid || holders.holders.some((h) => h.pid === e.pid)),
      );
      if (state === 'hung' || (waiting > 0 && failing)) {
        // A live daemon with requests queued and no answer: it is wedged (or its backend is).
        causes.push({
          id: 'daemon-hung',
          confidence: netFailed.length > 0 ? 0.6 : waiting > 0 ? 0.85 : 0.6,
          summary: `${daemon.comm} (pid ${daemon.pid}) is alive (${stateName(daemon.state ?? '?')}) but does not answer; ${waiting} request${waiting === 1 ? ' is' : 's are'} waiting`,
          evidence: [
            ...input.daemonEvidence,
            ...(fusectl?.evidence ?? []),
            input.probeEvidence,
            ...hungTasks.map(kmsgEvidence),
          ],
        });
      }
    }
  }

  // The backend: a failed connect, or a server the kernel says is not responding.
  if (netFailed.length > 0 || serverEvents.length > 0) {
    const named = netFailed.map((c) => `${hostPort(c.host, c.port)} ${c.result}`).join(', ');
    const what = ep?.display ?? input.mount.source;
    // With the daemon gone and no recorded argv, the port checked is the backend's default (sshfs
    // -p is only in argv): a refusal there is weak evidence about the real endpoint.
    const daemonGone = input.fuse && daemon !== null && daemon.pid === null;
    const portGuessed = input.fuse && (daemon?.argv ?? null) === null && netFailed.length > 0;
    let confidence = failing ? 0.9 : 0.35;
    if (serverEvents.length > 0 && netFailed.length > 0) confidence = failing ? 0.95 : 0.5;
    else if (serverEvents.length > 0 && netOk) confidence = failing ? 0.6 : 0.3;
    if (daemonGone) confidence = Math.min(confidence, portGuessed ? 0.3 : 0.6);
    causes.push({
      id: 'backend-unreachable',
      confidence,
      summary:
        netFailed.length > 0
          ? `the backend ${what} cannot be reached: ${named}${portGuessed ? " (the default port: the daemon's argv, and so its real port, is unknown)" : ''}`
          : `the kernel reports the server ${serverEvents[0]!.server} not responding`,
      evidence: [
        ...serverEvents.map(kmsgEvidence),
        ...(network?.evidence ?? []),
        ...(failing ? [input.probeEvidence] : []),
      ],
    });
  }

  if (state === 'stale') {
    causes.push({
      id: 'stale-handle',
      confidence: 0.9,
      summary: `the server no longer knows the mount's file handle (ESTALE): the export changed or the server restarted`,
      evidence: [input.probeEvidence],
    });
  }

  // Holders: they do not break the mount, but they keep a clean unmount from succeeding.
  if (holders.holders.length > 0 && failing) {
    causes.push({
      id: 'mount-busy',
      confidence: 0.6,
      summary: `${holders.holders.length} process${holders.holders.length === 1 ? ' holds' : 'es hold'} files, a cwd or a root in the mount (${holderList(holders.holders)}); a clean unmount will fail with EBUSY`,
      evidence: holders.evidence,
    });
  }

  // A mount under a dead parent fails because its path crosses the parent: the parent's failure is
  // the cause, named with the parent, whatever this mount's own daemon does.
  const dp = input.deadParent;
  if (dp && failing) {
    const own = daemon?.pid != null ? `; this mount's own daemon (pid ${daemon.pid}) is alive` : '';
    const id: Cause['id'] = dp.state === 'hung' ? 'daemon-hung' : dp.daemonGone ? 'daemon-gone' : 'unknown';
    causes.push({
      id,
      confidence: daemon?.pid != null || causes.length === 0 ? 0.92 : 0.7,
      summary: `its path is reached through ${dp.mount.mountpoint} (mount ${dp.mount.id}, ${dp.mount.fstype}), which is ${dp.state}${dp.daemonGone ? ' because its FUSE daemon is gone' : ''}${own}. Heal ${dp.mount.mountpoint} first`,
      evidence: [dp.evidence, input.probeEvidence, ...input.daemonEvidence],
      parentMount: { id: dp.mount.id, mountpoint: dp.mount.mountpoint },
    });
  }

  if (failing && !causes.some((c) => c.confidence >= 0.5 && c.id !== 'mount-busy')) {
    causes.push({
      id: 'unknown',
      confidence: 0.3,
      summary:
        probe.state === 'hung'
          ? 'the mount does not answer, and no collector found why'
          : `the mount fails with ${'errno' in probe ? probe.errno : '?'}, and no collector found why`,
      evidence: [input.probeEvidence, ...input.daemonEvidence, ...(network?.evidence ?? [])],
    });
  }
  return causes.sort((a, b) => b.confidence - a.confidence);
}

function holderList(holders: readonly Holder[]): string {
  const shown = holders.slice(0, 5).map((h) => `${h.pid} ${h.comm}`);
  return holders.length > 5 ? `${shown.join(', ')}, ...` : shown.join(', ');
}

// The host part of `host:/path` or `//host/share` sources.
function sourceHost(source: string): string | null {
  const cifs = /^\/\/([^/]+)\//.exec(source);
  if (cifs) return cifs[1]!;
  const m = /^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):/.exec(source);
  return m ? m[1]!.replace(/^\[|\]$/g, '') : null;
}
