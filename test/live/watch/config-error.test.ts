// Live: a config error gives its file, line, key and message on one line, and exit 2 (issue 4).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { privateDirs, runCli, tempDir } from '../../helpers/live.js';

const cases: Array<{ name: string; yaml: string; line: number; key: string; message: RegExp }> = [
  {
    name: 'a heal policy outside the enum',
    yaml: 'interval: 2s\nheal:\n  policy: sometimes\n',
    line: 3,
    key: 'heal.policy',
    message: /expected one of "off"\|"dry-run"\|"on"/,
  },
  {
    name: 'a relative managed mountpoint',
    yaml: 'managed:\n  - name: a\n    argv: [bindfs, -f, /src, rel]\n    mountpoint: rel\n',
    line: 4,
    key: 'managed[0].mountpoint',
    message: /must be an absolute path/,
  },
  {
    name: 'an unknown key',
    yaml: 'interval: 2s\nintervall: 3s\n',
    line: 2,
    key: 'intervall',
    message: /unknown key \(allowed: interval, /,
  },
  {
    name: 'a bad duration',
    yaml: 'probeTimeout: soon\n',
    line: 1,
    key: 'probeTimeout',
    message: /invalid duration 'soon'/,
  },
  {
    name: 'a missing required key',
    yaml: 'alerts:\n  exec:\n    - timeout: 1s\n',
    line: 3,
    key: 'alerts.exec[0].argv',
    message: /is required/,
  },
];

for (const c of cases) {
  test(`config error (${c.name}): file:line: key: message on stderr, exit 2`, async (t) => {
    const file = path.join(tempDir(t, 'enc-watch-cfg-'), 'watch.yaml');
    fs.writeFileSync(file, c.yaml);
    const r = await runCli(['watch', '--config', file, '--listen', '127.0.0.1:0'], {
      env: privateDirs(t),
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const prefix = `enotconn: ${file}:${c.line}: ${c.key}: `;
    assert.ok(lines[0]!.startsWith(prefix), `${lines[0]} should start with ${prefix}`);
    assert.match(lines[0]!.slice(prefix.length), c.message);
  });
}

test('a YAML syntax error names its line and exits 2', async (t) => {
  const file = path.join(tempDir(t, 'enc-watch-cfg-'), 'watch.yaml');
  fs.writeFileSync(file, 'interval: 2s\nheal:\n  policy: [on\n');
  const r = await runCli(['watch', '--config', file], { env: privateDirs(t), timeoutMs: 30_000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^enotconn: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[34]: \\(yaml\\): `));
});
