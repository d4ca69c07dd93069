// Live: the status page at `/`, rendered by watch and loaded in a real headless Chromium (Debian's
// chromium through playwright-core), shows the mounts, their state and the last incidents with
// their time to heal. The screenshot goes to test-results/watch-status-page.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { forceUnmount, liveBindfs, REPO, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { startWatchProc } from './watch-harness.js';

test('the status page in headless Chromium lists mounts, states and incidents with time to heal', async (t) => {
  if (!requireBinary(t, 'chromium', 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-watch-page-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const observed = path.join(dir, 'observed');
  const managed = path.join(dir, 'managed');
  t.after(() => forceUnmount(managed));
  const m = await liveBindfs(t, src, observed);
  const w = await startWatchProc(
    t,
    [
      'interval: 500ms',
      `observe:\n  include: ["${dir}/**"]`,
      'heal:\n  policy: off',
      `managed:\n  - name: pics\n    argv: ["bindfs", "-f", "${src}", "${managed}"]\n    mountpoint: ${managed}`,
      '',
    ].join('\n'),
  );
  await waitFor(async () => (await w.mount(observed))?.state === 'healthy', 20_000, 'observed healthy');
  // One closed incident with a time to heal (a managed restart), one open incident (a dead mount).
  const pid = (await w.mount(managed))!.daemonPid!;
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => {
    const v = await w.mount(managed);
    return v?.state === 'healthy' && v.daemonPid !== pid;
  }, 20_000);
  process.kill(m.daemonPid, 'SIGKILL');
  await waitFor(async () => (await w.mount(observed))?.incidentId != null, 20_000, 'an incident for the dead mount');

  const userDataDir = tempDir(t, 'enc-chromium-');
  // A new empty profile: playwright takes it as launchPersistentContext's userDataDir.
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const res = await page.goto(`http://127.0.0.1:${w.port}/`);
  assert.equal(res?.status(), 200);
  assert.match(await page.title(), /^enotconn watch: .+ \(1 down\)$/);
  assert.equal(await page.textContent('#summary'), '2 mounts: 1 healthy, 1 need attention');

  const observedRow = page.locator(`#mounts tr[data-mountpoint="${observed}"]`);
  assert.equal(await observedRow.locator('td.state').getAttribute('data-state'), 'dead');
  assert.match((await observedRow.textContent()) ?? '', /ENOTCONN/);
  assert.match((await observedRow.textContent()) ?? '', /observed/);
  const managedRow = page.locator(`#mounts tr[data-mountpoint="${managed}"]`);
  assert.equal(await managedRow.locator('td.state').getAttribute('data-state'), 'healthy');
  assert.match((await managedRow.textContent()) ?? '', /managed: pics/);

  const incidents = page.locator('#incidents tbody tr');
  assert.equal(await incidents.count(), 2);
  const closed = page.locator('#incidents tbody tr', { hasText: managed });
  assert.match((await closed.textContent()) ?? '', /daemon-gone/);
  assert.match((await closed.textContent()) ?? '', /restarted/);
  assert.match((await closed.locator('td.tth').textContent()) ?? '', /^\d+(\.\d)? (ms|s)$/);
  const open = page.locator('#incidents tbody tr', { hasText: observed });
  assert.match((await open.textContent()) ?? '', /open/);
  // Server-rendered with no front-end framework: the page carries no script at all.
  assert.equal(await page.locator('script').count(), 0);

  const out = path.join(REPO, 'test-results');
  fs.mkdirSync(out, { recursive: true });
  const shot = path.join(out, 'watch-status-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000, 'a real screenshot was written');
});
