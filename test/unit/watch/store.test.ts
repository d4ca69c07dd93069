import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { WatchStore } from '../../../src/watch/store.js';

function storeIn(t: TestContext): { store: WatchStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-wstore-'));
  const store = WatchStore.open(dir);
  t.after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { store, dir };
}

test('the shared database is WAL with only watch_* tables created by watch', (t) => {
  const { store, dir } = storeIn(t);
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(store.db.pragma('busy_timeout', { simple: true }), 2000);
  const tables = (
    store.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{ name: string }>
  ).map((r) => r.name);
  assert.deepEqual(tables, ['watch_alert_queue', 'watch_heal_journal', 'watch_heals', 'watch_incidents']);
  assert.ok(fs.existsSync(path.join(dir, 'enotconn.db')));
});

test('an incident opens, gathers actions and a cause, and closes with its time to heal', (t) => {
  const { store } = storeIn(t);
  const id = store.openIncident({
    mountpoint: '/m',
    fstype: 'fuse.sshfs',
    backend: 'sshfs',
    managed: false,
    state: 'dead',
    errno: 'ENOTCONN',
    firstSeenAt: 1000,
    openedAt: 1500,
  });
  assert.equal(store.openIncidentFor('/m')?.id, id);
  store.setCause(id, 'daemon-gone', 'sshfs is gone');
  store.addAction(id, 'heal healed', true);
  const row = store.closeIncident(id, 4000, 'healed')!;
  assert.equal(row.timeToHealMs, 3000);
  assert.equal(row.cause, 'daemon-gone');
  assert.deepEqual(row.actions, ['heal healed']);
  assert.equal(row.healAttempts, 1);
  assert.equal(store.openIncidentFor('/m'), null);
  assert.equal(store.closeIncident(id, 9000, 'again')!.closedAt, 4000, 'closing twice keeps the first close');
});

test('the incident history survives closing and reopening the database', (t) => {
  const { store, dir } = storeIn(t);
  store.openIncident({
    mountpoint: '/m',
    fstype: 'fuse',
    backend: null,
    managed: true,
    state: 'absent',
    errno: null,
    firstSeenAt: 1,
    openedAt: 1,
  });
  store.close();
  const again = WatchStore.open(dir);
  t.after(() => again.close());
  assert.equal(again.listIncidents().length, 1);
  assert.equal(again.listIncidents()[0]!.managed, true);
});

test('the heal journal is written before a heal and removed after it', (t) => {
  const { store, dir } = storeIn(t);
  store.journalBegin({
    mountpoint: '/m',
    kind: 'observed',
    incidentId: 3,
    pid: 42,
    startedAt: 10,
    recipe: { argv: ['x'] },
    mountIds: [7],
  });
  // Another connection (the next watch after a kill -9) sees the committed row.
  const other = new Database(path.join(dir, 'enotconn.db'), { readonly: true });
  t.after(() => other.close());
  assert.equal((other.prepare('SELECT COUNT(*) AS n FROM watch_heal_journal').get() as { n: number }).n, 1);
  assert.deepEqual(store.journalEntries(), [
    {
      mountpoint: '/m',
      kind: 'observed',
      incidentId: 3,
      pid: 42,
      startedAt: 10,
      phase: 'started',
      recipe: { argv: ['x'] },
      mountIds: [7],
    },
  ]);
  store.journalEnd('/m');
  assert.deepEqual(store.journalEntries(), []);
});

test('the alert queue hands out the oldest undelivered alert per target, when due', (t) => {
  const { store } = storeIn(t);
  const a1 = store.enqueueAlert('webhook:a', { n: 1 }, 100);
  const a2 = store.enqueueAlert('webhook:a', { n: 2 }, 100);
  const b1 = store.enqueueAlert('exec:b', { n: 3 }, 100);
  assert.deepEqual(
    store.dueAlerts(100).map((r) => r.id),
    [a1, b1],
  );
  store.markFailed(a1, 'ECONNREFUSED', 5000);
  assert.deepEqual(
    store.dueAlerts(200).map((r) => r.id),
    [b1],
    'a1 waits, and a2 waits behind it (order per target)',
  );
  store.markDelivered(b1, 300);
  assert.deepEqual(
    store.dueAlerts(5000).map((r) => r.id),
    [a1],
  );
  store.markDelivered(a1, 5001);
  assert.deepEqual(
    store.dueAlerts(5001).map((r) => r.id),
    [a2],
  );
  assert.equal(store.pendingAlerts(), 1);
});
