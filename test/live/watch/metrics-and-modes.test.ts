// Live: a scrape of a running watch passes `promtool check metrics`; after the first start the state
// directory is 0700 and every file in it 0600, files an older version left readable included.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { liveBindfs, privateDirs, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { startWatchProc } from './watch-harness.js';

test('promtool check metrics is clean on a live /metrics scrape, and state files are 0600 in a 0700 directory', async (t) => {
  if (!requireBinary(t, 'promtool', 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-watchsvc-met-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const mp = path.join(dir, 'mnt');
  const m = await liveBindfs(t, src, mp);
  const dirs = privateDirs(t);
  // What an older watch (or a run with umask 022) left: a world-readable state dir and audit log.
  const state = dirs.ENOTCONN_STATE_DIR;
  fs.mkdirSync(path.join(state, 'logs'), { recursive: true, mode: 0o755 });
  fs.chmodSync(state, 0o755);
  fs.writeFileSync(path.join(state, 'audit.jsonl'), '{}\n', { mode: 0o644 });
  fs.writeFileSync(path.join(state, 'logs', 'remount-old.log'), 'x\n', { mode: 0o644 });
  const w = await startWatchProc(
    t,
    `interval: 500ms\nobserve:\n  include: ["${dir}/**"]\nalerts:\n  webhooks:\n    - url: http://127.0.0.1:9/hook/SECRET-TOKEN\n      retries: 0\n`,
    { dirs },
  );
  await waitFor(async () => (await w.mount(mp))?.state === 'healthy', 20_000, 'the mount to be probed');

  const scrape = (await w.get('/metrics')).body;
  assert.match(scrape, /^enotconn_mount_up\{mountpoint="[^"]+",fstype="fuse",backend="[^"]*"\} 1$/m);
  assert.match(scrape, /^process_cpu_seconds_total /m, 'default process metrics are kept');
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8', timeout: 30_000 });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '');

  const mode = (p: string): string => (fs.statSync(p).mode & 0o777).toString(8);
  assert.equal(mode(state), '700');
  assert.equal(mode(path.join(state, 'logs')), '700');
  const files = fs.readdirSync(state).filter((n) => fs.statSync(path.join(state, n)).isFile());
  assert.ok(files.includes('enotconn.db'), files.join(','));
  for (const f of files) assert.equal(mode(path.join(state, f)), '600', f);
  assert.equal(mode(path.join(state, 'logs', 'remount-old.log')), '600');
  // A dead mount opens an incident; delivering its alert fails (nothing listens on port 9), and the
  // log names the webhook by scheme and host only, never its token.
  process.kill(m.daemonPid, 'SIGKILL');
  await waitFor(() => /alert delivery failed/.test(w.logs()), 30_000, 'a failed webhook delivery to be logged');
  assert.match(w.logs(), /"target":"webhook:http:\/\/127\.0\.0\.1:9\/\.\.\."/);
  assert.doesNotMatch(w.logs(), /SECRET-TOKEN/);
});
