// watch's history in the shared SQLite file `${stateDir}/enotconn.db`: incidents,
// heal history, the alert queue and the heal journal. Only the watch_* tables are created here; the
// recipes live in the heal issue's tables in the same file.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { EnotconnError, isEnotconnError } from '../errors.js';
import { openDatabase } from '../runtime/sqlite.js';

export interface IncidentRow {
  id: number;
  mountpoint: string;
  fstype: string;
  backend: string | null;
  managed: boolean;
  state: string; // the failing state that opened it: dead, hung, stale...
  errno: string | null;
  cause: string | null; // a DESIGN cause id
  causeSummary: string | null;
  firstSeenAt: number; // ms: the first failed probe of this run
  openedAt: number; // ms: when hysteresis opened it
  closedAt: number | null;
  resolution: string | null; // healed | restarted | recovered | vanished | abandoned
  actions: string[];
  healAttempts: number;
  timeToHealMs: number | null; // closedAt - firstSeenAt
}

export interface HealRow {
  id: number;
  incidentId: number | null;
  mountpoint: string;
  startedAt: number;
  finishedAt: number;
  action: string;
  result: string; // healed | failed | refused | dry-run | restarted | recovered | rolled-back
  reason: string;
  durationMs: number;
  steps: unknown;
}

export interface JournalRow {
  mountpoint: string;
  kind: 'observed' | 'managed';
  incidentId: number | null;
  pid: number; // the watch process that began the heal
  startedAt: number;
  phase: string;
  recipe: unknown; // the Recipe used, so a restart can finish the heal
  mountIds: number[]; // mount ids at the mountpoint when the heal began
}

export interface AlertRow {
  id: number;
  target: string;
  event: Record<string, unknown>;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  deliveredAt: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS watch_incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mountpoint TEXT NOT NULL,
  fstype TEXT NOT NULL,
  backend TEXT,
  managed INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  errno TEXT,
  cause TEXT,
  cause_summary TEXT,
  first_seen_at INTEGER NOT NULL,
  opened_at INTEGER NOT NULL,
  closed_at INTEGER,
  resolution TEXT,
  actions TEXT NOT NULL DEFAULT '[]',
  heal_attempts INTEGER NOT NULL DEFAULT 0,
  time_to_heal_ms INTEGER
);
CREATE INDEX IF NOT EXISTS watch_incidents_open ON watch_incidents (mountpoint, closed_at);
CREATE TABLE IF NOT EXISTS watch_heals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id INTEGER,
  mountpoint TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  action TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  steps TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS watch_heal_journal (
  mountpoint TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  incident_id INTEGER,
  pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  phase TEXT NOT NULL,
  recipe TEXT,
  mount_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS watch_alert_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL,
  event TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS watch_alert_queue_due ON watch_alert_queue (delivered_at, target, id);
`;

type Raw = Record<string, unknown>;

// The database path every enotconn component shares.
export function databasePath(stateDir: string): string {
  return path.join(stateDir, 'enotconn.db');
}

// watch's tables in the shared database. Every write is one statement or one transaction, so a
// kill -9 at any point leaves either the old row or the new one (SQLite's atomic commit, WAL mode).
export class WatchStore {
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  // Open (creating the directory and tables when missing) the database under `stateDir`.
  static open(stateDir: string): WatchStore {
    try {
      fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const db = openDatabase(databasePath(stateDir));
      // Why a short busy_timeout: the heal CLI may write recipes at the same moment; WAL lets readers
      // run beside one writer, and a writer waits at most this long for another.
      db.pragma('busy_timeout = 2000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(SCHEMA);
      tightenModes(stateDir);
      return new WatchStore(db);
    } catch (e) {
      if (isEnotconnError(e)) throw e; // a missing SQLite addon says so itself
      throw new EnotconnError(
        'ENC_PERMISSION',
        `cannot open the state database ${databasePath(stateDir)}: ${(e as Error).message}; check stateDir`,
        { cause: e },
      );
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // Open an incident; returns its id.
  openIncident(i: {
    mountpoint: string;
    fstype: string;
    backend: string | null;
    managed: boolean;
    state: string;
    errno: string | null;
    firstSeenAt: number;
    openedAt: number;
    cause?: string;
    causeSummary?: string;
  }): number {
    const r = this.db
      .prepare(
        `INSERT INTO watch_incidents (mountpoint, fstype, backend, managed, state, errno, cause, cause_summary,
          first_seen_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        i.mountpoint,
        i.fstype,
        i.backend,
        i.managed ? 1 : 0,
        i.state,
        i.errno,
        i.cause ?? null,
        i.causeSummary ?? null,
        i.firstSeenAt,
        i.openedAt,
      );
    return Number(r.lastInsertRowid);
  }

  // Set the incident's cause (from diagnose or the heal report's diagnosis).
  setCause(id: number, cause: string, summary: string): void {
    this.db.prepare('UPDATE watch_incidents SET cause = ?, cause_summary = ? WHERE id = ?').run(cause, summary, id);
  }

  // Append one action (what was done) to the incident.
  addAction(id: number, action: string, countsAsHeal = false): void {
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT actions FROM watch_incidents WHERE id = ?').get(id) as Raw | undefined;
      if (!row) return;
      const actions = JSON.parse(String(row.actions)) as string[];
      actions.push(action);
      this.db
        .prepare('UPDATE watch_incidents SET actions = ?, heal_attempts = heal_attempts + ? WHERE id = ?')
        .run(JSON.stringify(actions.slice(-50)), countsAsHeal ? 1 : 0, id);
    });
    tx();
  }

  // Close an incident with how it ended; time to heal runs from the first failed probe.
  closeIncident(id: number, closedAt: number, resolution: string): IncidentRow | null {
    this.db
      .prepare(
        `UPDATE watch_incidents SET closed_at = ?, resolution = ?, time_to_heal_ms = ? - first_seen_at
         WHERE id = ? AND closed_at IS NULL`,
      )
      .run(closedAt, resolution, closedAt, id);
    return this.incident(id);
  }

  incident(id: number): IncidentRow | null {
    const r = this.db.prepare('SELECT * FROM watch_incidents WHERE id = ?').get(id) as Raw | undefined;
    return r ? toIncident(r) : null;
  }

  // The open incident of a mountpoint (one survives a restart and is adopted), or null.
  openIncidentFor(mountpoint: string): IncidentRow | null {
    const r = this.db
      .prepare('SELECT * FROM watch_incidents WHERE mountpoint = ? AND closed_at IS NULL ORDER BY id DESC LIMIT 1')
      .get(mountpoint) as Raw | undefined;
    return r ? toIncident(r) : null;
  }

  // Every incident open at some moment since `since` (ms), oldest first (the status page's timelines).
  incidentsSince(since: number): IncidentRow[] {
    const sql = 'SELECT * FROM watch_incidents WHERE closed_at IS NULL OR closed_at >= ? ORDER BY first_seen_at, id';
    return (this.db.prepare(sql).all(since) as Raw[]).map(toIncident);
  }

  // Newest first.
  listIncidents(opts: { limit?: number; mountpoint?: string; openOnly?: boolean } = {}): IncidentRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.mountpoint !== undefined) {
      where.push('mountpoint = ?');
      args.push(opts.mountpoint);
    }
    if (opts.openOnly) where.push('closed_at IS NULL');
    const sql = `SELECT * FROM watch_incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, opts.limit ?? 100) as Raw[]).map(toIncident);
  }

  recordHeal(h: Omit<HealRow, 'id'>): number {
    const r = this.db
      .prepare(
        `INSERT INTO watch_heals (incident_id, mountpoint, started_at, finished_at, action, result, reason, duration_ms, steps)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        h.incidentId,
        h.mountpoint,
        h.startedAt,
        h.finishedAt,
        h.action,
        h.result,
        h.reason,
        Math.round(h.durationMs),
        JSON.stringify(h.steps ?? []),
      );
    return Number(r.lastInsertRowid);
  }

  listHeals(opts: { limit?: number; mountpoint?: string } = {}): HealRow[] {
    const rows = (
      opts.mountpoint !== undefined
        ? this.db
            .prepare('SELECT * FROM watch_heals WHERE mountpoint = ? ORDER BY id DESC LIMIT ?')
            .all(opts.mountpoint, opts.limit ?? 100)
        : this.db.prepare('SELECT * FROM watch_heals ORDER BY id DESC LIMIT ?').all(opts.limit ?? 100)
    ) as Raw[];
    return rows.map((r) => ({
      id: Number(r.id),
      incidentId: r.incident_id === null ? null : Number(r.incident_id),
      mountpoint: String(r.mountpoint),
      startedAt: Number(r.started_at),
      finishedAt: Number(r.finished_at),
      action: String(r.action),
      result: String(r.result),
      reason: String(r.reason),
      durationMs: Number(r.duration_ms),
      steps: JSON.parse(String(r.steps)) as unknown,
    }));
  }

  // Write-ahead: record that a heal of `mountpoint` begins, before any step runs (committed at once).
  journalBegin(j: Omit<JournalRow, 'phase'> & { phase?: string }): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO watch_heal_journal (mountpoint, kind, incident_id, pid, started_at, phase, recipe, mount_ids)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        j.mountpoint,
        j.kind,
        j.incidentId,
        j.pid,
        j.startedAt,
        j.phase ?? 'started',
        j.recipe === undefined || j.recipe === null ? null : JSON.stringify(j.recipe),
        JSON.stringify(j.mountIds),
      );
  }

  journalPhase(mountpoint: string, phase: string): void {
    this.db.prepare('UPDATE watch_heal_journal SET phase = ? WHERE mountpoint = ?').run(phase, mountpoint);
  }

  // The heal finished (either way): remove its journal entry.
  journalEnd(mountpoint: string): void {
    this.db.prepare('DELETE FROM watch_heal_journal WHERE mountpoint = ?').run(mountpoint);
  }

  journalEntries(): JournalRow[] {
    return (this.db.prepare('SELECT * FROM watch_heal_journal ORDER BY started_at').all() as Raw[]).map((r) => ({
      mountpoint: String(r.mountpoint),
      kind: String(r.kind) as JournalRow['kind'],
      incidentId: r.incident_id === null ? null : Number(r.incident_id),
      pid: Number(r.pid),
      startedAt: Number(r.started_at),
      phase: String(r.phase),
      recipe: r.recipe === null ? null : (JSON.parse(String(r.recipe)) as unknown),
      mountIds: JSON.parse(String(r.mount_ids)) as number[],
    }));
  }

  // Queue an alert for one target; it stays until delivered.
  enqueueAlert(target: string, event: Record<string, unknown>, now: number): number {
    const r = this.db
      .prepare('INSERT INTO watch_alert_queue (target, event, created_at, next_attempt_at) VALUES (?, ?, ?, ?)')
      .run(target, JSON.stringify(event), now, now);
    return Number(r.lastInsertRowid);
  }

  // The oldest undelivered alert of each target, when it is due (delivery keeps order per target).
  dueAlerts(now: number): AlertRow[] {
    const rows = this.db
      .prepare(
        `SELECT q.* FROM watch_alert_queue q
         JOIN (SELECT target, MIN(id) AS id FROM watch_alert_queue WHERE delivered_at IS NULL GROUP BY target) h
           ON q.id = h.id
         WHERE q.next_attempt_at <= ? ORDER BY q.id`,
      )
      .all(now) as Raw[];
    return rows.map(toAlert);
  }

  markDelivered(id: number, now: number): void {
    this.db.prepare('UPDATE watch_alert_queue SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?').run(now, id);
  }

  markFailed(id: number, error: string, nextAttemptAt: number): void {
    this.db
      .prepare('UPDATE watch_alert_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?')
      .run(error.slice(0, 500), nextAttemptAt, id);
  }

  pendingAlerts(): number {
    const r = this.db.prepare('SELECT COUNT(*) AS n FROM watch_alert_queue WHERE delivered_at IS NULL').get() as Raw;
    return Number(r.n);
  }

  listAlerts(limit = 100): AlertRow[] {
    return (this.db.prepare('SELECT * FROM watch_alert_queue ORDER BY id DESC LIMIT ?').all(limit) as Raw[]).map(
      toAlert,
    );
  }

  // Drop delivered alerts older than `before` (ms), so the queue does not grow forever.
  pruneDelivered(before: number): void {
    this.db.prepare('DELETE FROM watch_alert_queue WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(before);
  }
}

function toIncident(r: Raw): IncidentRow {
  return {
    id: Number(r.id),
    mountpoint: String(r.mountpoint),
    fstype: String(r.fstype),
    backend: r.backend === null ? null : String(r.backend),
    managed: Number(r.managed) === 1,
    state: String(r.state),
    errno: r.errno === null ? null : String(r.errno),
    cause: r.cause === null ? null : String(r.cause),
    causeSummary: r.cause_summary === null ? null : String(r.cause_summary),
    firstSeenAt: Number(r.first_seen_at),
    openedAt: Number(r.opened_at),
    closedAt: r.closed_at === null ? null : Number(r.closed_at),
    resolution: r.resolution === null ? null : String(r.resolution),
    actions: JSON.parse(String(r.actions)) as string[],
    healAttempts: Number(r.heal_attempts),
    timeToHealMs: r.time_to_heal_ms === null ? null : Number(r.time_to_heal_ms),
  };
}

function toAlert(r: Raw): AlertRow {
  return {
    id: Number(r.id),
    target: String(r.target),
    event: JSON.parse(String(r.event)) as Record<string, unknown>,
    createdAt: Number(r.created_at),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error === null ? null : String(r.last_error),
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  };
}

// State files are 0600 in a 0700 directory (DESIGN section 7): recipes hold argv and env, incidents
// and the audit log what root ran. Files an older version (or a command run with umask 022) left
// readable are tightened; only regular files and directories enotconn owns here, never symlinks.
export function tightenModes(stateDir: string): void {
  const fix = (p: string, mode: number): void => {
    try {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink() || st.uid !== process.getuid?.()) return;
      if ((st.mode & 0o777 & ~mode) !== 0) fs.chmodSync(p, st.mode & mode & 0o777);
    } catch {
      // gone in between, or not ours: leave it
    }
  };
  fix(stateDir, 0o700);
  for (const dir of [stateDir, path.join(stateDir, 'logs')]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) fix(p, 0o700);
      else if (st?.isFile()) fix(p, 0o600);
    }
  }
}
