import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { LintReport } from '../../../src/knowledge/lint/lint.js';
import { liveSshd, liveSshfs, privateDirs, requireBinary, runCli, tempDir } from '../../helpers/live.js';

test('lint --live reads sshfs options from the running daemon argv', async (t) => {
  if (!requireBinary(t, 'sshfs', 'sshd', 'fusermount3')) return;
  const sshd = await liveSshd(t);
  const dir = tempDir(t, `enc${process.pid}-lint-`);
  fs.mkdirSync(path.join(dir, 'remote'));
  const bare = path.join(dir, 'bare');
  const good = path.join(dir, 'good');
  await liveSshfs(t, sshd, path.join(dir, 'remote'), bare);
  await liveSshfs(t, sshd, path.join(dir, 'remote'), good, [
    'reconnect',
    'ServerAliveInterval=15',
    'ServerAliveCountMax=3',
  ]);
  const r = await runCli(['lint', '--live', '--json'], { env: privateDirs(t) });
  const report = JSON.parse(r.stdout) as LintReport;
  const ids = (mp: string): string[] =>
    report.findings
      .filter((f) => f.mountpoint === mp)
      .map((f) => f.id)
      .sort();
  assert.deepEqual(
    ids(bare).filter((i) => i.startsWith('sshfs-')),
    ['sshfs-keepalive', 'sshfs-reconnect'],
  );
  assert.deepEqual(
    ids(good).filter((i) => i.startsWith('sshfs-')),
    [],
  );
  const f = report.findings.find((x) => x.mountpoint === bare && x.id === 'sshfs-reconnect')!;
  assert.equal(f.source, 'live');
  assert.match(f.found, /served by pid \d+: sshfs -f /);
  assert.equal(r.code, 1);
});
