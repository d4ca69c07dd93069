// Opening, annotating and closing incidents: the one place that keeps the store, the cached view,
// the incident counter and the alerts in step.
import type { Alerter } from './alerts.js';
import type { Logger } from './logger.js';
import type { WatchMetrics } from './metrics.js';
import type { MountView } from './state.js';
import type { IncidentRow, WatchStore } from './store.js';

export class IncidentBook {
  private readonly counted = new Set<number>();

  constructor(
    private readonly store: WatchStore,
    private readonly metrics: WatchMetrics,
    private readonly alerter: Alerter,
    private readonly log: Logger,
  ) {}

  // Take over the incident a previous watch process left open for this mountpoint, if any.
  adopt(v: MountView): void {
    if (v.incidentId !== null) return;
    const existing = this.store.openIncidentFor(v.mountpoint);
    if (existing) {
      v.incidentId = existing.id;
      v.cause = existing.cause;
      if (existing.cause !== null) this.counted.add(existing.id);
    }
  }

  // Open an incident for the mount (or return the one already open); alerts "incident-opened".
  open(
    v: MountView,
    o: { state: string; errno: string | null; firstSeenAt: number; now: number; cause?: string; summary?: string },
  ): number {
    if (v.incidentId !== null) return v.incidentId;
    const existing = this.store.openIncidentFor(v.mountpoint);
    if (existing) {
      // Adopted after a restart: the incident that was open when the last watch stopped.
      v.incidentId = existing.id;
      v.cause = existing.cause;
      return existing.id;
    }
    const id = this.store.openIncident({
      mountpoint: v.mountpoint,
      fstype: v.fstype,
      backend: v.backend,
      managed: v.managed !== null,
      state: o.state,
      errno: o.errno,
      firstSeenAt: o.firstSeenAt,
      openedAt: o.now,
      ...(o.cause !== undefined ? { cause: o.cause } : {}),
      ...(o.summary !== undefined ? { causeSummary: o.summary } : {}),
    });
    v.incidentId = id;
    v.cause = o.cause ?? null;
    if (o.cause !== undefined) this.count(id, v.mountpoint, o.cause);
    this.log.warn(
      { incident: id, mountpoint: v.mountpoint, state: o.state, errno: o.errno, cause: o.cause },
      `incident opened: ${v.mountpoint} is ${o.state}`,
    );
    this.alerter.emit(
      this.alerter.event(
        'incident-opened',
        v.mountpoint,
        `${v.mountpoint} is ${o.state}${o.errno ? ` (${o.errno})` : ''}${o.summary ? `: ${o.summary}` : ''}`,
        {
          incidentId: id,
          state: o.state,
          errno: o.errno,
          cause: o.cause ?? null,
          ...(v.managed !== null ? { managed: v.managed } : {}),
        },
      ),
    );
    return id;
  }

  // Record the cause once it is known (diagnose, or the heal report's diagnosis).
  setCause(v: MountView, cause: string, summary: string): void {
    if (v.incidentId === null) return;
    this.store.setCause(v.incidentId, cause, summary);
    v.cause = cause;
    this.count(v.incidentId, v.mountpoint, cause);
  }

  // Append what was done to the incident.
  action(v: MountView, text: string, countsAsHeal = false): void {
    if (v.incidentId !== null) this.store.addAction(v.incidentId, text, countsAsHeal);
  }

  // Close the incident with how it ended; alerts "incident-closed" with the time to heal.
  close(v: MountView, resolution: string, now: number): IncidentRow | null {
    const id = v.incidentId;
    if (id === null) return null;
    if (!this.counted.has(id)) this.count(id, v.mountpoint, v.cause ?? 'unknown');
    const row = this.store.closeIncident(id, now, resolution);
    v.incidentId = null;
    v.cause = null;
    this.counted.delete(id);
    this.log.info(
      { incident: id, mountpoint: v.mountpoint, resolution, timeToHealMs: row?.timeToHealMs, cause: row?.cause },
      `incident closed: ${v.mountpoint} ${resolution}`,
    );
    this.alerter.emit(
      this.alerter.event(
        'incident-closed',
        v.mountpoint,
        `${v.mountpoint} is healthy again (${resolution}${row?.timeToHealMs != null ? ` after ${row.timeToHealMs} ms` : ''})`,
        {
          incidentId: id,
          cause: row?.cause ?? null,
          timeToHealMs: row?.timeToHealMs ?? null,
          details: { resolution, actions: row?.actions ?? [] },
          ...(v.managed !== null ? { managed: v.managed } : {}),
        },
      ),
    );
    return row;
  }

  private count(id: number, mountpoint: string, cause: string): void {
    if (this.counted.has(id)) return;
    this.counted.add(id);
    this.metrics.incidents.inc({ mountpoint, cause });
  }
}
