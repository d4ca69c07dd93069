// What watch knows about each mount right now: the cached state that /metrics, /api/mounts and the
// status page read. Nothing here probes; the loop and the supervisor write it.
import type { ProbeState } from '../host/types.js';

export type WatchedState = ProbeState | 'absent'; // absent: a managed mount that is not mounted

export interface MountView {
  mountpoint: string;
  fstype: string;
  backend: string | null;
  source: string;
  managed: string | null; // the managed mount's name, or null for an observed mount
  state: WatchedState;
  errno: string | null;
  since: number; // ms: when the current state began
  lastProbeAt: number | null;
  latencyMs: number | null;
  consecutiveFailures: number;
  incidentId: number | null;
  cause: string | null;
  healing: boolean;
  breakerOpen: boolean;
  heals: number; // heal attempts (or restarts) in this process's lifetime
  lastHealAt: number | null;
  lastHealResult: string | null;
  nextHealAt: number | null;
  daemonPid: number | null;
  mountId: number | null; // the mount-table id last probed (changes on every remount)
  recipeRecorded: boolean;
  probing: boolean;
  // The mount was replaced by someone else (a CSI driver remounted it): with heal.propagate, other
  // namespaces' dead copies of the old one are re-grafted once it answers.
  regraftDue: boolean;
  device: string | null; // "major:minor" last seen at the mountpoint (kept while it is gone)
}

// The shared table of mount views, keyed by mountpoint.
export class WatchState {
  readonly mounts = new Map<string, MountView>();
  startedAt = Date.now();
  lastCycleAt: number | null = null;
  cycles = 0;

  // The view of `mountpoint`, created with defaults when new.
  ensure(mountpoint: string, init: Partial<MountView> & { fstype: string; source: string }, now: number): MountView {
    let v = this.mounts.get(mountpoint);
    if (!v) {
      v = {
        mountpoint,
        backend: null,
        managed: null,
        state: 'unknown',
        errno: null,
        since: now,
        lastProbeAt: null,
        latencyMs: null,
        consecutiveFailures: 0,
        incidentId: null,
        cause: null,
        healing: false,
        regraftDue: false,
        device: null,
        breakerOpen: false,
        heals: 0,
        lastHealAt: null,
        lastHealResult: null,
        nextHealAt: null,
        daemonPid: null,
        mountId: null,
        recipeRecorded: false,
        probing: false,
        ...init,
      };
      this.mounts.set(mountpoint, v);
    }
    return v;
  }

  // Change a mount's state, keeping `since` when it did not change.
  setState(v: MountView, state: WatchedState, errno: string | null, now: number): void {
    if (v.state !== state) v.since = now;
    v.state = state;
    v.errno = errno;
  }

  // Views sorted by mountpoint, for the API and the status page.
  list(): MountView[] {
    return [...this.mounts.values()].sort((a, b) => a.mountpoint.localeCompare(b.mountpoint));
  }
}
