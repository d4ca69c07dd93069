// Live: watch heals an observed sshfs mount killed with kill -9, and a SIGSTOPped daemon never
// blocks /metrics (issue 4, "Tests (live)").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  forceUnmount,
  killHard,
  liveBindfs,
  liveSshd,
  liveSshfs,
  requireBinary,
  tempDir,
  waitFor,
} from '../../helpers/live.js';
import { sampleValue, startWatchProc } from './watch-harness.js';

function observeOnly(dir: string): string {
  return `observe:\n  include: ["${dir}/**"]\n`;
}

test('watch heals a kill -9ed observed sshfs: mount_up 0 then 1, heals_total +1, incident closed with its cause', async (t) => {
  if (!requireBinary(t, 'sshfs', 'fusermount3')) return;
  const sshd = await liveSshd(t);
  const dir = tempDir(t, 'enc-watch-obs-');
  const remote = path.join(dir, 'remote');
  fs.mkdirSync(remote);
  fs.writeFileSync(path.join(remote, 'hello.txt'), 'hello from sshd\n');
  const mp = path.join(dir, 'mnt');
  const m = await liveSshfs(t, sshd, remote, mp, ['reconnect']);
  const w = await startWatchProc(
    t,
    `interval: 500ms\nprobeTimeout: 2s\n${observeOnly(dir)}heal:\n  policy: on\n  failuresBeforeIncident: 2\n  backoff: { initial: 500ms }\n`,
  );
  const labels = { mountpoint: mp };
  await waitFor(async () => (await w.metric('enotconn_mount_up', labels)) === 1, 20_000, 'mount_up 1 before the kill');
  // The recipe is recorded while the mount is healthy, so the heal can remount it.
  await waitFor(
    () => w.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
    20_000,
    'the recipe of the healthy mount to be recorded',
  );
  assert.equal(await w.metric('enotconn_heals_total', { mountpoint: mp, result: 'healed' }), null);

  process.kill(m.daemonPid, 'SIGKILL');
  const seen: number[] = [];
  await waitFor(
    async () => {
      const v = sampleValue((await w.get('/metrics')).body, 'enotconn_mount_up', labels);
      if (v !== null && seen.at(-1) !== v) seen.push(v);
      return seen.includes(0) && v === 1;
    },
    60_000,
    'mount_up to go 0 and back to 1',
  );
  assert.deepEqual(seen.slice(-2), [0, 1]);
  assert.equal(await w.metric('enotconn_heals_total', { mountpoint: mp, action: 'remount', result: 'healed' }), 1);
  assert.equal(fs.readFileSync(path.join(mp, 'hello.txt'), 'utf8'), 'hello from sshd\n');

  const { incidents } = await w.json<{ incidents: Array<Record<string, unknown>> }>(
    `/api/incidents?mountpoint=${encodeURIComponent(mp)}`,
  );
  assert.equal(incidents.length, 1);
  const inc = incidents[0]!;
  assert.equal(inc.state, 'dead');
  assert.equal(inc.errno, 'ENOTCONN');
  assert.equal(inc.cause, 'daemon-gone');
  assert.equal(inc.resolution, 'healed');
  assert.notEqual(inc.closedAt, null);
  assert.equal(typeof inc.timeToHealMs, 'number');
  const heals = w.db<{ result: string; action: string }>(
    'SELECT result, action FROM watch_heals WHERE mountpoint = ?',
    mp,
  );
  assert.deepEqual(heals, [{ result: 'healed', action: 'remount' }]);
  assert.equal(await w.metric('enotconn_incidents_total', { mountpoint: mp, cause: 'daemon-gone' }), 1);
});

test('a SIGSTOPped daemon does not block /metrics: the scrape answers while the mount is hung', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  // Registered first, so it runs first: t.after hooks run in order, and the temp dir's removal must
  // not walk into a mount whose daemon is still stopped.
  let stopped: { pid: number; mp: string } | null = null;
  t.after(() => {
    if (stopped === null) return;
    killHard(stopped.pid);
    forceUnmount(stopped.mp);
  });
  const dir = tempDir(t, 'enc-watch-stop-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const mp = path.join(dir, 'mnt');
  const m = await liveBindfs(t, src, mp);
  const w = await startWatchProc(t, `interval: 500ms\nprobeTimeout: 1s\n${observeOnly(dir)}heal:\n  policy: off\n`);
  await waitFor(async () => (await w.mount(mp))?.state === 'healthy', 20_000, 'healthy before SIGSTOP');
  stopped = { pid: m.daemonPid, mp };
  process.kill(m.daemonPid, 'SIGSTOP');
  await waitFor(async () => (await w.mount(mp))?.state === 'hung', 30_000, 'the mount to be reported hung');
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await w.get('/metrics');
    times.push(r.ms);
    assert.equal(r.status, 200);
    assert.equal(sampleValue(r.body, 'enotconn_mount_state', { mountpoint: mp, state: 'hung' }), 1);
    assert.equal(sampleValue(r.body, 'enotconn_mount_up', { mountpoint: mp }), 0);
    assert.ok((sampleValue(r.body, 'enotconn_probes_in_flight', {}) ?? 0) >= 1, 'the stuck probe is in flight');
  }
  // Figures, not a threshold (the benchmark records them): how long scrapes took with a hung mount.
  times.sort((a, b) => a - b);
  console.log(`# /metrics with a SIGSTOPped daemon: median ${times[5]!.toFixed(1)} ms, max ${times[9]!.toFixed(1)} ms`);
});
