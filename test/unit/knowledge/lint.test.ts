import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseFstab, withOptions } from '../../../src/knowledge/lint/fstab.js';
import { hasProblems, runLint } from '../../../src/knowledge/lint/lint.js';
import { RULES } from '../../../src/knowledge/lint/rules/index.js';
import { last, parseUnitText, splitExec, values, type UnitFile } from '../../../src/knowledge/lint/systemd-unit.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { REPO, runCli, tempDir } from '../../helpers/live.js';

const FIX = path.join(REPO, 'test/fixtures/lint');
let host: NodeHost;
before(() => {
  host = new NodeHost();
});
after(() => host.close());

async function lintDir(dir: string): Promise<string[]> {
  const fstab = path.join(dir, 'fstab');
  const units = path.join(dir, 'units');
  const r = await runLint(host, {
    fstab: fs.existsSync(fstab) ? fstab : null,
    units: fs.existsSync(units) ? units : null,
    explicit: true,
  });
  return r.findings.map((f) => f.id);
}

// One failing and one passing fixture per rule: the failing one trips that rule and nothing else.
for (const rule of RULES) {
  test(`rule ${rule.id}: its failing fixture finds exactly it, its passing fixture finds nothing`, async () => {
    assert.deepEqual(await lintDir(path.join(FIX, rule.id, 'fail')), [rule.id]);
    assert.deepEqual(await lintDir(path.join(FIX, rule.id, 'pass')), []);
  });
}

test('every finding carries id, severity, the line found, why and fix', async () => {
  const r = await runLint(host, { fstab: path.join(FIX, 'sshfs-reconnect/fail/fstab'), explicit: true });
  const f = r.findings[0]!;
  assert.equal(f.id, 'sshfs-reconnect');
  assert.equal(f.severity, 'warning');
  assert.equal(f.line, 3);
  assert.match(f.found, /^user@files:\/data \/mnt\/remote fuse\.sshfs /);
  assert.match(f.why, /ENOTCONN/);
  assert.match(f.fix, /reconnect/);
});

test('fstab is parsed exactly: octal escapes, comments, options, missing fields', () => {
  const p = parseFstab(
    '# comment\n  # indented comment\nuser@h:/srv/my\\040data /mnt/my\\040data\\011tab fuse.sshfs a,b=c\\134d 0 2\n\n/dev/sda1 / ext4\n',
  );
  assert.equal(p.entries.length, 2);
  const e = p.entries[0]!;
  assert.equal(e.spec, 'user@h:/srv/my data');
  assert.equal(e.file, '/mnt/my data\ttab');
  assert.deepEqual(e.options, ['a', 'b=c\\d']);
  assert.deepEqual([e.freq, e.passno], ['0', '2']);
  assert.deepEqual(e.comments, ['comment', 'indented comment']);
  assert.deepEqual(p.entries[1]!.options, ['defaults']);
  // A fix changes only the options field; escapes and spacing elsewhere stay as written.
  assert.equal(
    withOptions(e, ['a', 'reconnect']),
    'user@h:/srv/my\\040data /mnt/my\\040data\\011tab fuse.sshfs a,reconnect 0 2',
  );
});

test('a malformed fstab line is an error finding with its line number', async () => {
  const r = await runLint(host, { fstab: path.join(FIX, 'syntax/fstab'), explicit: true });
  assert.deepEqual(
    r.findings.filter((f) => f.id === 'fstab-syntax').map((f) => f.line),
    [2, 3],
  );
  assert.ok(hasProblems(r.findings));
});

test('systemd units: continuations, comments, list resets in drop-ins, and ExecStart quoting', () => {
  const u: UnitFile = { name: 'x.service', path: '/x.service', dropIns: [], sections: new Map() };
  parseUnitText(
    '[Service]\n# why\nExecStartPre=-/bin/true\nExecStart=/usr/bin/sshfs -f \\\n  "a b" \'c d\' e\\ f\n',
    '/x.service',
    u.sections,
  );
  parseUnitText(
    '[Service]\nExecStart=\nExecStart=/bin/other\nExecStartPre=-/bin/false\n',
    '/x.service.d/o.conf',
    u.sections,
  );
  assert.deepEqual(
    values(u, 'Service', 'ExecStart').map((d) => d.value),
    ['/bin/other'],
  );
  assert.deepEqual(
    values(u, 'Service', 'ExecStartPre').map((d) => d.value),
    ['-/bin/true', '-/bin/false'],
  );
  assert.deepEqual(values(u, 'Service', 'ExecStartPre')[0]!.comments, ['why']);
  const first = parseUnitText('[Service]\nExecStart=/usr/bin/sshfs -f \\\n  "a b" \'c d\' e\\ f\n', '/y');
  assert.deepEqual(splitExec(first.get('Service')!.get('ExecStart')![0]!.value), {
    prefixes: '',
    argv: ['/usr/bin/sshfs', '-f', 'a b', 'c d', 'e f'],
  });
  assert.equal(last(u, 'Service', 'Restart'), null);
});

test('--fix prints corrections and changes nothing; --write applies them atomically with a backup, and a re-lint is clean', async (t) => {
  const dir = tempDir(t);
  fs.cpSync(path.join(FIX, 'all'), dir, { recursive: true });
  const before = fs.readFileSync(path.join(dir, 'fstab'), 'utf8');
  const args = ['lint', '--fstab', path.join(dir, 'fstab'), '--units', path.join(dir, 'units')];

  const shown = await runCli([...args, '--fix', '--json']);
  assert.equal(shown.code, 1, shown.stderr);
  const report = JSON.parse(shown.stdout) as { findings: Array<{ id: string }>; fixes: Array<{ kind: string }> };
  assert.ok(report.findings.length >= 15);
  assert.deepEqual([...new Set(report.fixes.map((f) => f.kind))].sort(), ['drop-in', 'fstab-line']);
  assert.equal(fs.readFileSync(path.join(dir, 'fstab'), 'utf8'), before, '--fix alone must not write');
  assert.equal(fs.existsSync(path.join(dir, 'units/sshfs-data.service.d')), false);

  const w = await runCli([...args, '--fix', '--write', '--json']);
  assert.equal(w.code, 0, w.stdout);
  const written = JSON.parse(w.stdout) as {
    written: Array<{ path: string; backup: string | null }>;
    remaining: unknown[];
  };
  assert.deepEqual(written.remaining, []);
  const fstabWrite = written.written.find((x) => x.path.endsWith('/fstab'))!;
  assert.equal(fs.readFileSync(fstabWrite.backup!, 'utf8'), before);
  assert.ok(
    fs.readdirSync(dir).every((n) => !n.includes('.tmp-')),
    'no temp file left behind',
  );

  // An independent re-lint of the written files: clean.
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stdout);
  assert.match(again.stdout, /No findings/);
  // The sshfs service's new ExecStart keeps the quoted mountpoint and adds the options.
  const drop = fs.readFileSync(path.join(dir, 'units/sshfs-data.service.d/50-enotconn-lint.conf'), 'utf8');
  assert.match(drop, /^ExecStart=$/m);
  assert.match(
    drop,
    /^ExecStart=\/usr\/bin\/sshfs -o reconnect,ServerAliveInterval=15,ServerAliveCountMax=3,auto_unmount .* "\/mnt\/files data"$/m,
  );
  assert.match(drop, /^ExecStartPre=-\/usr\/bin\/fusermount3 -uz "\/mnt\/files data"$/m);
});

test('--fix output for each rule, applied and re-linted, comes back clean', async (t) => {
  for (const rule of RULES) {
    const dir = tempDir(t);
    fs.cpSync(path.join(FIX, rule.id, 'fail'), dir, { recursive: true });
    const args = [
      'lint',
      ...(fs.existsSync(path.join(dir, 'fstab')) ? ['--fstab', path.join(dir, 'fstab')] : []),
      ...(fs.existsSync(path.join(dir, 'units')) ? ['--units', path.join(dir, 'units')] : []),
    ];
    const w = await runCli([...args, '--fix', '--write']);
    assert.match(w.stdout, /Re-linted: clean\./, `${rule.id}: ${w.stdout}`);
    const again = await runCli([...args, '--json']);
    assert.deepEqual((JSON.parse(again.stdout) as { findings: unknown[] }).findings, [], rule.id);
  }
});

test('CLI: exit 1 with warnings, 0 with only info findings, 2 for a missing file or --write without --fix', async () => {
  assert.equal((await runCli(['lint', '--fstab', path.join(FIX, 'nfs-soft/fail/fstab')])).code, 1);
  const info = await runCli(['lint', '--fstab', path.join(FIX, 'fuse-auto-unmount/fail/fstab')]);
  assert.equal(info.code, 0);
  assert.match(info.stdout, /INFO\s+fuse-auto-unmount/);
  assert.equal((await runCli(['lint', '--fstab', '/nonexistent/fstab'])).code, 2);
  assert.equal((await runCli(['lint', '--write'])).code, 2);
});
