import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { startHttp, parseListen } from '../../../src/watch/http.js';
import { WatchMetrics } from '../../../src/watch/metrics.js';
import { WatchState } from '../../../src/watch/state.js';
import { escapeHtml, renderStatusPage } from '../../../src/watch/status-page.js';
import { WatchStore } from '../../../src/watch/store.js';

const DESIGN_METRICS = [
  'enotconn_mount_up',
  'enotconn_mount_state',
  'enotconn_probe_duration_seconds',
  'enotconn_probes_in_flight',
  'enotconn_probe_orphans',
  'enotconn_heals_total',
  'enotconn_incidents_total',
  'enotconn_last_heal_timestamp_seconds',
];

async function serve(
  t: TestContext,
): Promise<{ base: string; state: WatchState; metrics: WatchMetrics; store: WatchStore }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-whttp-'));
  const store = WatchStore.open(dir);
  const state = new WatchState();
  const metrics = new WatchMetrics(state, { inFlight: () => 2, orphans: () => 1 }, () => 0, { processMetrics: false });
  const { server, address } = await startHttp(
    {
      state,
      store,
      metrics,
      hostname: 'h1',
      intervalMs: 1000,
      probeTimeoutMs: 1000,
      healPolicy: 'on',
      alertsQueued: () => 0,
      version: 't',
      now: () => Date.now(),
    },
    '127.0.0.1:0',
  );
  t.after(() => {
    server.closeAllConnections();
    server.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { base: `http://${address}`, state, metrics, store };
}

test('/metrics exposes every DESIGN §3 metric, by its exact name, from cached state', async (t) => {
  const { base, state, metrics } = await serve(t);
  const v = state.ensure('/mnt/a b', { fstype: 'fuse.sshfs', source: 'u@h:/', backend: 'sshfs' }, 0);
  state.setState(v, 'dead', 'ENOTCONN', 1);
  v.lastHealAt = 1_700_000_000_000;
  metrics.heals.inc({ mountpoint: '/mnt/a b', action: 'remount', result: 'healed' });
  metrics.incidents.inc({ mountpoint: '/mnt/a b', cause: 'daemon-gone' });
  metrics.probeDuration.observe(0.002);
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const name of DESIGN_METRICS) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  assert.match(text, /^enotconn_mount_up\{mountpoint="\/mnt\/a b",fstype="fuse\.sshfs",backend="sshfs"\} 0$/m);
  assert.match(text, /^enotconn_mount_state\{mountpoint="\/mnt\/a b",state="dead"\} 1$/m);
  assert.match(text, /^enotconn_mount_state\{mountpoint="\/mnt\/a b",state="healthy"\} 0$/m);
  assert.match(text, /^enotconn_probes_in_flight 2$/m);
  assert.match(text, /^enotconn_probe_orphans 1$/m);
  assert.match(text, /^enotconn_heals_total\{mountpoint="\/mnt\/a b",action="remount",result="healed"\} 1$/m);
  assert.match(text, /^enotconn_incidents_total\{mountpoint="\/mnt\/a b",cause="daemon-gone"\} 1$/m);
  assert.match(text, /^enotconn_last_heal_timestamp_seconds\{mountpoint="\/mnt\/a b"\} 1700000000$/m);
  assert.match(text, /^enotconn_probe_duration_seconds_count 1$/m);
  // A mount watch forgets disappears from the exposition.
  state.mounts.delete('/mnt/a b');
  assert.doesNotMatch(await (await fetch(`${base}/metrics`)).text(), /^enotconn_mount_up\{/m);
});

test('/healthz, /api/mounts, /api/incidents and 404', async (t) => {
  const { base, state, store } = await serve(t);
  state.lastCycleAt = Date.now();
  state.ensure('/m', { fstype: 'fuse', source: 's' }, 0);
  store.openIncident({
    mountpoint: '/m',
    fstype: 'fuse',
    backend: null,
    managed: false,
    state: 'dead',
    errno: 'ENOTCONN',
    firstSeenAt: 0,
    openedAt: 0,
  });
  const h = await fetch(`${base}/healthz`);
  assert.equal(h.status, 200);
  assert.deepEqual(((await h.json()) as { ok: boolean }).ok, true);
  const mounts = (await (await fetch(`${base}/api/mounts`)).json()) as {
    host: string;
    mounts: Array<{ mountpoint: string; up: boolean }>;
  };
  assert.equal(mounts.host, 'h1');
  assert.deepEqual(
    mounts.mounts.map((m) => [m.mountpoint, m.up]),
    [['/m', false]],
  );
  const inc = (await (await fetch(`${base}/api/incidents?open=1`)).json()) as {
    incidents: Array<{ errno: string; closedAt: null }>;
  };
  assert.equal(inc.incidents.length, 1);
  assert.equal(inc.incidents[0]!.errno, 'ENOTCONN');
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  state.lastCycleAt = Date.now() - 60_000;
  assert.equal((await fetch(`${base}/healthz`)).status, 503, 'a loop that stopped cycling fails the health check');
});

test('the status page escapes mountpoints and causes', () => {
  const state = new WatchState();
  state.ensure('/mnt/<script>x</script>', { fstype: 'fuse', source: 's' }, 0);
  const html = renderStatusPage({
    host: 'h&h',
    now: 1000,
    startedAt: 0,
    lastCycleAt: null,
    intervalMs: 5000,
    healPolicy: 'off',
    mounts: state.list(),
    incidents: [],
    alertsQueued: 0,
    version: '0',
  });
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /\/mnt\/&lt;script&gt;x&lt;\/script&gt;/);
  assert.match(html, /enotconn watch on h&amp;h/);
  assert.equal(escapeHtml(`"'`), '&quot;&#39;');
});

test('--listen parsing', () => {
  assert.deepEqual(parseListen('127.0.0.1:9717'), { host: '127.0.0.1', port: 9717 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.throws(() => parseListen('9717'), /host:port/);
});
