import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { MountRunbook } from '../../../src/knowledge/runbook.js';
import { liveSshd, liveSshfs, privateDirs, requireBinary, runCli, tempDir, waitFor } from '../../helpers/live.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a runbook for a real dead sshfs mount has every section, with real command output', async (t) => {
  if (!requireBinary(t, 'sshfs', 'sshd', 'fusermount3')) return;
  const sshd = await liveSshd(t);
  const dir = tempDir(t, `enc${process.pid}-rb-`);
  const remote = path.join(dir, 'remote');
  fs.mkdirSync(remote);
  fs.writeFileSync(path.join(remote, 'hello.txt'), 'hi\n');
  const mp = path.join(dir, 'mnt');
  const m = await liveSshfs(t, sshd, remote, mp);
  assert.equal(fs.readFileSync(path.join(mp, 'hello.txt'), 'utf8'), 'hi\n');
  process.kill(m.daemonPid, 'SIGKILL');
  await waitFor(() => !alive(m.daemonPid), 5000, 'sshfs to die');
  const env = privateDirs(t);

  const md = await runCli(['runbook', mp], { env, timeoutMs: 60000 });
  assert.equal(md.code, 1, `a dead mount is a problem: ${md.stderr}`);
  const text = md.stdout;
  assert.match(
    text,
    new RegExp(`^# Runbook: ${mp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(fuse\\.sshfs\\) is dead$`, 'm'),
  );
  for (const h of ['## Symptoms', '## Evidence', '## Cause', '## Remediation', '## Validation', '## Prevention']) {
    assert.match(text, new RegExp(`^${h}$`, 'm'), `missing ${h}`);
  }
  // Real output of ls, obtained through the host with a timeout: the kernel's ENOTCONN text.
  assert.match(
    text,
    new RegExp(`\\$ ls -la -- ${mp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n.*Transport endpoint is not connected`),
  );
  assert.match(text, /dead: statfs failed with ENOTCONN|dead: lstat failed with ENOTCONN/);
  // Validation commands a human can re-run.
  assert.match(text, new RegExp(`^enotconn diagnose ${mp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

  const js = await runCli(['runbook', mp, '--format', 'json'], { env, timeoutMs: 60000 });
  const rb = JSON.parse(js.stdout) as MountRunbook;
  assert.equal(rb.kind, 'mount');
  assert.equal(rb.state, 'dead');
  assert.equal(rb.diagnosis.mount.errno, 'ENOTCONN');
  // A killed daemon is the cause, ahead of a refused connect to a guessed (default) ssh port.
  assert.equal(rb.causes[0]?.id, 'daemon-gone', JSON.stringify(rb.causes));
  // The Cause section lists diagnose's causes, best first.
  assert.deepEqual(rb.causes, rb.diagnosis.causes);
  assert.match(text, new RegExp(`^1\\. \\*\\*${rb.causes[0]!.id}\\*\\*`, 'm'));
  // The plan's first step unmounts the dead mount, and its command is the plan's argv, quoted.
  const unmount = rb.remediation.find((s) => s.action === 'unmount-lazy' || s.action === 'abort-connection');
  assert.ok(unmount?.command, `no unmount step in ${JSON.stringify(rb.remediation)}`);
  const ls = rb.symptoms.find((s) => s.command?.startsWith('ls -la'))!;
  assert.notEqual(ls.exitCode, 0);
  assert.match(ls.output, /Transport endpoint is not connected/);
  assert.ok(rb.validation.length >= 3);
  // Prevention comes from lint for this mount only; the daemon is gone, so its -o options are
  // unknown and no sshfs option is claimed missing.
  assert.ok(rb.prevention.every((f) => f.mountpoint === mp));
  assert.ok(!rb.prevention.some((f) => f.id === 'sshfs-reconnect' && f.source === 'live'));
});
