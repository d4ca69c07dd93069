// The recipe store: how each mount was started while it was healthy (heal issue, "Recipes").
// One SQLite file, ${stateDir}/enotconn.db, shared with the watch store: each module creates only
// its own tables (CREATE TABLE IF NOT EXISTS), in WAL mode with a busy timeout so a scan, a heal and
// the watch daemon can write at the same time (https://www.sqlite.org/wal.html).
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Host } from '../../host/types.js';
import { openDatabase } from '../../runtime/sqlite.js';
import type { DaemonTrust, Recipe, RecipeSample } from './recipe.js';
import { DB_FILE } from './live-daemons.js';

export { DB_FILE };
const BUSY_TIMEOUT_MS = 2000;

// What the store knows about a recipe beyond the Recipe itself: the daemon it was read from.
export interface StoredRecipe extends Recipe {
  daemonPid: number | null;
  daemonStart: number | null; // start time in clock ticks, guards against pid reuse
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS recipes (
  mountpoint   TEXT NOT NULL,
  source       TEXT NOT NULL,
  fstype       TEXT NOT NULL,
  backend      TEXT,
  argv         TEXT NOT NULL,
  uid          INTEGER NOT NULL,
  gid          INTEGER NOT NULL,
  user         TEXT,
  cwd          TEXT,
  env          TEXT NOT NULL,
  daemon_pid   INTEGER,
  daemon_start INTEGER,
  sample       TEXT,
  recorded_at  TEXT NOT NULL,
  PRIMARY KEY (mountpoint, source)
)`;

interface Row {
  mountpoint: string;
  source: string;
  fstype: string;
  backend: string | null;
  argv: string;
  uid: number;
  gid: number;
  user: string | null;
  cwd: string | null;
  env: string;
  daemon_pid: number | null;
  daemon_start: number | null;
  sample: string | null;
  recorded_at: string;
  trust?: string | null;
}

// An open recipe store; close() it when done.
export class RecipeStore {
  private constructor(private readonly db: Database.Database) {}

  // Open (creating when needed) the store under the host's state directory.
  static async open(host: Host): Promise<RecipeStore> {
    await host.mkdirp(host.stateDir, 0o700);
    // Why 0700/0600: recipes hold argv and environment paths (SSH_AUTH_SOCK) of other users, and
    // root runs what they say: nobody else may read or change them.
    await host.chmod(host.stateDir, 0o700);
    const file = path.join(host.stateDir, DB_FILE);
    const db = openDatabase(file);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    // Added later: what was proven about the recorded daemon (a store from before has no column).
    const cols = (db.prepare('PRAGMA table_info(recipes)').all() as Array<{ name: string }>).map((c) => c.name);
    if (!cols.includes('trust')) db.exec('ALTER TABLE recipes ADD COLUMN trust TEXT');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) await host.chmod(f, 0o600).catch(() => undefined);
    return new RecipeStore(db);
  }

  // Insert or replace several recipes in one transaction. An untrusted recipe never replaces a
  // recipe of another uid (an impostor cannot overwrite the owner's), nor a trusted one.
  // Returns how many were written.
  putMany(recipes: ReadonlyArray<{ recipe: Recipe; daemonPid: number | null; daemonStart: number | null }>): number {
    const stmt = this.db.prepare(
      `INSERT INTO recipes (mountpoint, source, fstype, backend, argv, uid, gid, user, cwd, env, daemon_pid,
         daemon_start, sample, recorded_at, trust)
       VALUES (@mountpoint, @source, @fstype, @backend, @argv, @uid, @gid, @user, @cwd, @env, @daemon_pid,
         @daemon_start, (SELECT sample FROM recipes WHERE mountpoint = @mountpoint AND source = @source), @recorded_at,
         @trust)
       ON CONFLICT (mountpoint, source) DO UPDATE SET fstype = excluded.fstype, backend = excluded.backend,
         argv = excluded.argv, uid = excluded.uid, gid = excluded.gid, user = excluded.user, cwd = excluded.cwd,
         env = excluded.env, daemon_pid = excluded.daemon_pid, daemon_start = excluded.daemon_start,
         recorded_at = excluded.recorded_at, trust = excluded.trust`,
    );
    const prevStmt = this.db.prepare('SELECT uid, trust FROM recipes WHERE mountpoint = ? AND source = ?');
    let written = 0;
    const tx = this.db.transaction(() => {
      for (const { recipe: r, daemonPid, daemonStart } of recipes) {
        const prev = prevStmt.get(r.mountpoint, r.source) as { uid: number; trust: string | null } | undefined;
        const newTrusted = r.trust?.trusted === true;
        const prevTrusted = prev?.trust ? (JSON.parse(prev.trust) as DaemonTrust).trusted : false;
        if (prev && !newTrusted && (prev.uid !== r.uid || prevTrusted)) continue;
        written++;
        stmt.run({
          mountpoint: r.mountpoint,
          source: r.source,
          fstype: r.fstype,
          backend: r.backend,
          argv: JSON.stringify(r.argv),
          uid: r.uid,
          gid: r.gid,
          user: r.user ?? null,
          cwd: r.cwd,
          env: JSON.stringify(r.env),
          daemon_pid: daemonPid,
          daemon_start: daemonStart,
          recorded_at: r.recordedAt ?? new Date().toISOString(),
          trust: r.trust ? JSON.stringify(r.trust) : null,
        });
      }
    });
    tx();
    return written;
  }

  // Remember a sample file seen through the healthy mount.
  putSample(mountpoint: string, source: string, sample: RecipeSample): void {
    this.db
      .prepare('UPDATE recipes SET sample = ? WHERE mountpoint = ? AND source = ?')
      .run(JSON.stringify(sample), mountpoint, source);
  }

  // The recipe recorded for this mountpoint and source, or null.
  get(mountpoint: string, source: string): StoredRecipe | null {
    const row = this.db.prepare('SELECT * FROM recipes WHERE mountpoint = ? AND source = ?').get(mountpoint, source) as
      Row | undefined;
    return row ? fromRow(row) : null;
  }

  // Every recipe recorded for this source and type, whatever its mountpoint (a moved mountpoint:
  // its parent directory was renamed, so the kernel now shows another path).
  bySource(source: string, fstype: string): StoredRecipe[] {
    const rows = this.db.prepare('SELECT * FROM recipes WHERE source = ? AND fstype = ?').all(source, fstype) as Row[];
    return rows.map(fromRow);
  }

  // The daemons recorded so far: mountpoint+source → pid and start, to skip re-reading unchanged ones.
  known(): Map<string, { pid: number | null; start: number | null }> {
    const rows = this.db.prepare('SELECT mountpoint, source, daemon_pid, daemon_start FROM recipes').all() as Row[];
    return new Map(rows.map((r) => [`${r.mountpoint}\0${r.source}`, { pid: r.daemon_pid, start: r.daemon_start }]));
  }

  close(): void {
    this.db.close();
  }
}

function fromRow(row: Row): StoredRecipe {
  const sample = row.sample ? (JSON.parse(row.sample) as RecipeSample) : undefined;
  return {
    mountpoint: row.mountpoint,
    source: row.source,
    fstype: row.fstype,
    backend: row.backend,
    argv: JSON.parse(row.argv) as string[],
    uid: row.uid,
    gid: row.gid,
    cwd: row.cwd,
    env: JSON.parse(row.env) as Record<string, string>,
    origin: 'recorded',
    recordedAt: row.recorded_at,
    missing: [],
    ...(row.user !== null ? { user: row.user } : {}),
    ...(sample ? { sample } : {}),
    ...(row.daemon_pid !== null ? { pid: row.daemon_pid } : {}),
    ...(row.trust ? { trust: JSON.parse(row.trust) as DaemonTrust } : {}),
    daemonPid: row.daemon_pid,
    daemonStart: row.daemon_start,
  };
}
