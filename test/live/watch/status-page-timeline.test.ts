// Live: the status page in headless Chromium puts the dead mount first, shows each mount's source,
// refreshes itself, and draws each mount's last 24 h as an inline SVG from the SQLite incidents.
// The screenshot goes to test-results/watch-status-page-timeline.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { WatchStore } from '../../../src/watch/store.js';
import { liveBindfs, privateDirs, REPO, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { startWatchProc } from './watch-harness.js';

test('status page: bad mounts first, source column, auto-refresh, 24 h timeline from the incident history', async (t) => {
  if (!requireBinary(t, 'chromium', 'bindfs')) return;
  const dir = tempDir(t, 'enc-ship-page-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  // "a-..." sorts before "z-...": the dead one must still come first.
  const good = await liveBindfs(t, src, path.join(dir, 'a-good'));
  const doomed = await liveBindfs(t, src, path.join(dir, 'z-doomed'));
  // History from before this watch process: a 30 min hang of the good mount 18 h ago, in SQLite.
  const dirs = privateDirs(t);
  const H = 3_600_000;
  const now = Date.now();
  const store = WatchStore.open(dirs.ENOTCONN_STATE_DIR);
  const old = store.openIncident({
    mountpoint: good.mountpoint,
    fstype: 'fuse',
    backend: 'bindfs',
    managed: false,
    state: 'hung',
    errno: null,
    firstSeenAt: now - 18 * H,
    openedAt: now - 18 * H + 2000,
    cause: 'daemon-stopped',
  });
  store.closeIncident(old, now - 18 * H + 30 * 60_000, 'recovered');
  store.close();
  const w = await startWatchProc(
    t,
    ['interval: 500ms', `observe:\n  include: ["${dir}/**"]`, 'heal:\n  policy: off', ''].join('\n'),
    { dirs },
  );
  await waitFor(async () => (await w.mount(doomed.mountpoint))?.state === 'healthy', 20_000, 'both healthy');
  process.kill(doomed.daemonPid, 'SIGKILL');
  await waitFor(async () => (await w.mount(doomed.mountpoint))?.incidentId != null, 20_000, 'an incident');
  const [row] = w.db<{ id: number; first_seen_at: number }>(
    'SELECT id, first_seen_at FROM watch_incidents WHERE mountpoint = ? AND closed_at IS NULL',
    doomed.mountpoint,
  );
  assert.ok(row, 'the incident is in SQLite');

  const browser = await chromium.launchPersistentContext(tempDir(t, 'enc-chromium-'), {
    executablePath: '/usr/bin/chromium',
    viewport: { width: 1400, height: 700 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  assert.equal((await page.goto(`http://127.0.0.1:${w.port}/`))?.status(), 200);

  const order = await page
    .locator('#mounts tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-mountpoint')));
  assert.deepEqual(order, [doomed.mountpoint, good.mountpoint]);
  assert.equal(await page.locator('#mounts thead th').nth(1).textContent(), 'Source');
  assert.equal(await page.locator(`#mounts tr[data-mountpoint="${good.mountpoint}"] td.src`).textContent(), src);
  assert.equal(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '2');

  // The dead mount's timeline: not watched, then healthy, then the open incident in red.
  const svg = page.locator(`#mounts tr[data-mountpoint="${doomed.mountpoint}"] svg.timeline`);
  assert.equal(await svg.count(), 1);
  const rects = await svg
    .locator('rect')
    .evaluateAll((rs) =>
      rs.map((r) => [
        r.getAttribute('data-state'),
        r.getAttribute('fill'),
        r.querySelector('title')?.textContent ?? '',
      ]),
    );
  assert.deepEqual(
    rects.map(([s, f]) => [s, f]),
    [
      ['unwatched', '#d0d7de'],
      ['healthy', '#2da44e'],
      ['dead', '#cf222e'],
    ],
  );
  assert.match(rects[2]![2]!, new RegExp(`^#${row.id} dead \\(daemon-gone\\), open: \\d\\d:\\d\\d–\\d\\d:\\d\\d UTC$`));
  // Drawn where it happened: the red stretch starts at the first failed probe, near the right end.
  const box = await svg.boundingBox();
  const red = await svg.locator('rect[data-state="dead"]').boundingBox();
  assert.ok(
    box && red && red.x >= box.x + box.width * 0.99 - 2 && red.x <= box.x + box.width,
    JSON.stringify({ box, red }),
  );
  // The good mount's old hang, read back from SQLite, is drawn 18 h into the past: at 6/24 of the width.
  const goodSvg = page.locator(`#mounts tr[data-mountpoint="${good.mountpoint}"] svg.timeline`);
  const goodRects = await goodSvg.locator('rect').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-state')));
  assert.deepEqual(goodRects, ['unwatched', 'healthy', 'hung']);
  const gbox = (await goodSvg.boundingBox())!;
  const hung = (await goodSvg.locator('rect[data-state="hung"]').boundingBox())!;
  assert.ok(Math.abs(hung.x - (gbox.x + gbox.width / 4)) <= 2, JSON.stringify({ gbox, hung }));
  assert.ok(Math.abs(hung.width - gbox.width / 48) <= 1.5, JSON.stringify({ gbox, hung }));
  assert.match(
    (await goodSvg.locator('rect[data-state="hung"] title').textContent()) ?? '',
    new RegExp(`^#${old} hung \\(daemon-stopped\\), recovered: `),
  );
  assert.equal(await page.locator('script').count(), 0);

  const out = path.join(REPO, 'test-results');
  fs.mkdirSync(out, { recursive: true });
  const shot = path.join(out, 'watch-status-page-timeline.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000, 'a real screenshot was written');
});
