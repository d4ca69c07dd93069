import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../helpers/live.js';

test('CLI: a line that starts with "-" is text, not an option (.NET "--->" frames, bullets)', async () => {
  const net = await runCli([
    'explain',
    '--offline',
    '--json',
    ' ---> System.Net.Sockets.SocketException (10054): An existing connection was forcibly closed by the remote host.',
  ]);
  assert.equal(net.code, 0, net.stderr);
  const j = JSON.parse(net.stdout) as { errno: string; platform: string; platformCode: string; context: string };
  assert.equal(j.errno, 'ECONNRESET');
  assert.equal(j.platform, 'windows');
  assert.equal(j.platformCode, 'WSAECONNRESET');
  assert.equal(j.context, 'socket');
  const arrow = await runCli(['explain', '--offline', '--json', '---> System.Net.Sockets.SocketException (10061)']);
  assert.equal(arrow.code, 0, arrow.stderr);
  assert.equal((JSON.parse(arrow.stdout) as { errno: string }).errno, 'ECONNREFUSED');
  const bullet = await runCli([
    'explain',
    '--offline',
    '--json',
    "- ls: cannot access '/mnt/x': Transport endpoint is not connected",
  ]);
  assert.equal(bullet.code, 0, bullet.stderr);
  assert.equal((JSON.parse(bullet.stdout) as { context: string }).context, 'mount');
});

test('CLI: kernel-style negative errnos are text: -ENOTCONN, -104', async () => {
  for (const [arg, errno] of [
    ['-ENOTCONN', 'ENOTCONN'],
    ['-104', 'ECONNRESET'],
  ] as const) {
    const r = await runCli(['explain', '--offline', '--json', arg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { errno: string }).errno, errno, arg);
  }
});

test('CLI: a word that looks like an option is still a usage error, one line on stderr, exit 2', async () => {
  const r = await runCli(['explain', '--jsno', 'ECONNRESET']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^enotconn: unknown option '--jsno'/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('CLI: explain - reads the line from stdin (the first line that reports an errno)', async () => {
  const r = await runCli(['explain', '--offline', '--json', '-'], {
    input:
      'Traceback (most recent call last):\n  File "x.py", line 1\nConnectionRefusedError: [Errno 111] Connection refused\n',
  });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { errno: string; input: string; platform: string };
  assert.equal(j.errno, 'ECONNREFUSED');
  assert.equal(j.platform, 'linux');
  assert.match(j.input, /^ConnectionRefusedError/);
  const none = await runCli(['explain', '-'], { input: 'all is well\n' });
  assert.equal(none.code, 1);
  assert.match(none.stdout, /^not recognised: all is well/);
});

test('CLI: a commit subject is "not an error report", exit 1, and names no errno in JSON', async () => {
  const r = await runCli(['explain', '--offline', '--json', 'http_client: Add ECONNRESET to retryable errors']);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as { recognised: boolean; mentions: string; errno?: string };
  assert.equal(j.recognised, false);
  assert.equal(j.mentions, 'ECONNRESET');
  assert.equal(j.errno, undefined);
});
