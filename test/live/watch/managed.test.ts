// Live: managed mounts under watch's supervisor (issue 4, "Tests (live)"): a kill -9ed daemon is
// back and validated; a crash loop opens the breaker and alerts "flapping"; alerts queued while the
// webhook is down are all delivered once it is up; SIGTERM unmounts cleanly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { forceUnmount, freePort, liveSshd, requireBinary, sshfsOptions, tempDir, waitFor } from '../../helpers/live.js';
import { mountCount, sampleValue, startWatchProc, webhookReceiver } from './watch-harness.js';

function yamlList(argv: string[]): string {
  return `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
}

test('managed sshfs: kill -9 of the daemon → restarted, validated, incident recorded; SIGTERM unmounts', async (t) => {
  if (!requireBinary(t, 'sshfs', 'fusermount3')) return;
  const sshd = await liveSshd(t);
  const dir = tempDir(t, 'enc-watch-man-');
  const remote = path.join(dir, 'remote');
  fs.mkdirSync(remote);
  fs.writeFileSync(path.join(remote, 'data.txt'), 'managed\n');
  const mp = path.join(dir, 'mnt');
  t.after(() => forceUnmount(mp));
  const argv = ['sshfs', '-f', ...sshfsOptions(sshd), `root@127.0.0.1:${remote}`, mp];
  // oomScoreAdj 100, not a protective negative value: lowering it needs CAP_SYS_RESOURCE, which this
  // machine's root lacks (CapEff bit 24); the write path is the same.
  const w = await startWatchProc(
    t,
    `interval: 1s\nobserve:\n  include: ["${dir}/**"]\nmanaged:\n  - name: remote\n    argv: ${yamlList(argv)}\n    mountpoint: ${mp}\n    oomScoreAdj: 100\n`,
  );
  await waitFor(async () => (await w.mount(mp))?.state === 'healthy', 30_000, 'the managed mount to come up');
  const first = (await w.mount(mp))!;
  assert.equal(first.managed, 'remote');
  assert.ok(first.daemonPid !== null && first.daemonPid > 0);
  assert.equal(fs.readFileSync(`/proc/${first.daemonPid}/oom_score_adj`, 'utf8').trim(), '100');
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'managed\n');

  process.kill(first.daemonPid!, 'SIGKILL');
  await waitFor(
    async () => {
      const v = await w.mount(mp);
      return v?.state === 'healthy' && v.daemonPid !== null && v.daemonPid !== first.daemonPid;
    },
    30_000,
    'the daemon to be restarted',
  );
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'managed\n');
  assert.equal(mountCount(mp), 1, 'one mount at the mountpoint, not a new one stacked on the dead one');
  const incidents = w.db<{ cause: string; resolution: string; closed_at: number | null; actions: string }>(
    'SELECT cause, resolution, closed_at, actions FROM watch_incidents WHERE mountpoint = ?',
    mp,
  );
  assert.equal(incidents.length, 1);
  assert.equal(incidents[0]!.cause, 'daemon-gone');
  assert.equal(incidents[0]!.resolution, 'restarted');
  assert.notEqual(incidents[0]!.closed_at, null);
  assert.match(incidents[0]!.actions, /was killed by SIGKILL/);
  assert.equal(await w.metric('enotconn_heals_total', { mountpoint: mp, action: 'restart', result: 'healed' }), 1);

  const exit = await w.stop();
  assert.equal(exit.code, 0);
  assert.equal(mountCount(mp), 0, 'SIGTERM unmounted the managed mount');
});

test('a crash loop opens the circuit breaker and alerts "flapping"', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-watch-crash-');
  const mp = path.join(dir, 'mnt');
  t.after(() => forceUnmount(mp));
  const port = await freePort();
  const hook = await webhookReceiver(t, port);
  // bindfs exits at once when its source directory does not exist.
  const argv = ['bindfs', '-f', path.join(dir, 'no-such-source'), mp];
  const w = await startWatchProc(
    t,
    [
      'interval: 1s',
      `observe:\n  include: ["${dir}/**"]`,
      `managed:\n  - name: crashy\n    argv: ${yamlList(argv)}\n    mountpoint: ${mp}\n    readyTimeout: 5s`,
      'managedRestart:\n  backoff: { initial: 100ms, max: 1s }',
      'heal:\n  breaker: { maxHeals: 3, window: 1m, cooldown: 10m }',
      `alerts:\n  webhooks:\n    - url: http://127.0.0.1:${port}/hook\n  events: [flapping, incident-opened]`,
      '',
    ].join('\n'),
  );
  await waitFor(() => hook.events.some((e) => e.kind === 'flapping'), 30_000, 'a flapping alert');
  const flap = hook.events.find((e) => e.kind === 'flapping')!;
  assert.equal(flap.mountpoint, mp);
  assert.equal(flap.managed, 'crashy');
  const v = (await w.mount(mp))!;
  assert.equal(v.breakerOpen, true);
  assert.equal(v.state, 'absent');
  const text = (await w.get('/metrics')).body;
  assert.equal(sampleValue(text, 'enotconn_heal_breaker_open', { mountpoint: mp }), 1);
  assert.equal(sampleValue(text, 'enotconn_managed_restarts_total', { name: 'crashy' }), 3);
  // Open means no more restarts: the count stays at 3.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await w.metric('enotconn_managed_restarts_total', { name: 'crashy' }), 3);
  assert.equal(hook.events.filter((e) => e.kind === 'flapping').length, 1);
});

test('webhook down, then up: every alert queued meanwhile is delivered, none lost, healing went on', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-watch-hook-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'x');
  const mp = path.join(dir, 'mnt');
  t.after(() => forceUnmount(mp));
  const port = await freePort(); // nothing listens here yet: the receiver is down
  const w = await startWatchProc(
    t,
    [
      'interval: 1s',
      `observe:\n  include: ["${dir}/**"]`,
      `managed:\n  - name: b\n    argv: ${yamlList(['bindfs', '-f', src, mp])}\n    mountpoint: ${mp}`,
      'heal:\n  breaker: { maxHeals: 100 }',
      `alerts:\n  webhooks:\n    - url: http://127.0.0.1:${port}/hook\n      timeout: 1s\n      retries: 1`,
      '',
    ].join('\n'),
  );
  await waitFor(async () => (await w.mount(mp))?.state === 'healthy', 30_000, 'the managed mount to come up');
  for (let i = 0; i < 3; i++) {
    const before = (await w.mount(mp))!.daemonPid!;
    process.kill(before, 'SIGKILL');
    await waitFor(
      async () => {
        const v = await w.mount(mp);
        // A new daemon (a pid, not null, and not the old one) whose mount a fresh probe found healthy.
        return v?.state === 'healthy' && v.daemonPid !== null && v.daemonPid !== before;
      },
      30_000,
      `restart ${i + 1}`,
    );
  }
  assert.equal(fs.readFileSync(path.join(mp, 'f'), 'utf8'), 'x', 'healing went on while alerts could not be sent');
  await waitFor(async () => (await w.metric('enotconn_alerts_queued', {})) === 6, 10_000, '6 alerts queued');
  const failed = w.db<{ n: number }>(
    'SELECT COUNT(*) AS n FROM watch_alert_queue WHERE attempts > 0 AND delivered_at IS NULL',
  );
  assert.ok(failed[0]!.n >= 1, 'delivery was attempted and failed while the receiver was down');

  const hook = await webhookReceiver(t, port);
  await waitFor(() => hook.events.length >= 6, 60_000, 'the queued alerts to be delivered');
  await waitFor(async () => (await w.metric('enotconn_alerts_queued', {})) === 0, 10_000, 'the queue to drain');
  const queued = w
    .db<{ event: string }>('SELECT event FROM watch_alert_queue ORDER BY id')
    .map((r) => (JSON.parse(r.event) as { id: string }).id);
  const got = hook.events.map((e) => e.id as string);
  assert.deepEqual(got, queued, 'every queued alert arrived, once, in order');
  assert.deepEqual(
    hook.events.map((e) => e.kind),
    ['incident-opened', 'incident-closed', 'incident-opened', 'incident-closed', 'incident-opened', 'incident-closed'],
  );
});
