// CLI conventions, checked on the tsc build and on the npm bundle alike: every usage error is one
// line on stderr starting `enotconn:` with exit 2 (commander's own errors too), conflicting flags
// are errors, a path that names nothing is exit 2, and the version is package.json's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, privateDirs, tempDir } from '../../helpers/live.js';
import { BUNDLE, runArgv, TSC_CLI } from '../../helpers/run-argv.js';

const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };

const BUILDS: Array<[string, string[]]> = [
  ['tsc build', [process.execPath, TSC_CLI]],
  ['bundle', [process.execPath, BUNDLE]],
];

// Every one of these is a usage error: [argv, the exact stderr line].
const USAGE_ERRORS: Array<[string[], string]> = [
  [['scan', '--bogus'], "enotconn: unknown option '--bogus'"],
  [['bogus'], "enotconn: unknown command 'bogus'"],
  [['diagnose'], "enotconn: missing required argument 'path'"],
  [['scan', '--all', '--type', 'nfs'], "enotconn: option '--all' cannot be used with option '--type <types>'"],
  [['scan', '--json', '--npd'], "enotconn: option '--json' cannot be used with option '--npd'"],
  [
    ['runbook', 'ENOTCONN', '--format', 'md', '--json'],
    "enotconn: option '--json' cannot be used with option '--format <fmt>'",
  ],
  [['scan', '--timeout'], "enotconn: option '--timeout <duration>' argument missing"],
  [
    ['scan', '--timeout', 'soon'],
    "enotconn: invalid --timeout 'soon': use a number and a unit (ms, s, m, h), such as 500ms, 2s or 1m30s",
  ],
  [['completion', 'tcsh'], "enotconn: completion: unknown shell 'tcsh': use bash, zsh or fish"],
  [
    ['watch', '--timeout', '1s', '--probe-timeout', '1s'],
    'enotconn: --probe-timeout is the old name of --timeout: give one of them',
  ],
];

for (const [build, cli] of BUILDS) {
  for (const [args, line] of USAGE_ERRORS) {
    test(`${build}: \`enotconn ${args.join(' ')}\` is one stderr line and exit 2`, async (t) => {
      const r = await runArgv([...cli, ...args], { env: { ...process.env, NO_COLOR: '1', ...privateDirs(t) } });
      assert.equal(r.stderr, `${line}\n`);
      assert.equal(r.stdout, '');
      assert.equal(r.code, 2);
    });
  }

  test(`${build}: a path argument that names nothing is exit 2 (scan, diagnose, heal, runbook)`, async (t) => {
    const missing = path.join(tempDir(t, 'enc-ship-'), 'typo');
    for (const cmd of ['scan', 'diagnose', 'heal', 'runbook']) {
      const r = await runArgv([...cli, cmd, missing], { env: { ...process.env, NO_COLOR: '1', ...privateDirs(t) } });
      assert.equal(r.code, 2, `${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^enotconn: [^\n]+\n$/, cmd);
      assert.ok(r.stderr.includes(missing), `${cmd} names the path: ${r.stderr}`);
    }
  });

  test(`${build}: --version is package.json's version`, async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runArgv([...cli, flag]);
      assert.equal(r.stdout, `${PKG.version}\n`);
      assert.equal(r.code, 0);
    }
  });

  test(`${build}: one flag name per concept: --timeout everywhere, defaults as durations`, async () => {
    for (const cmd of ['scan', 'diagnose', 'heal', 'watch', 'explain', 'runbook']) {
      const r = await runArgv([...cli, cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--timeout <duration>/, cmd);
      assert.doesNotMatch(r.stdout, /--probe-timeout/, cmd);
      assert.doesNotMatch(r.stdout, /default: "\d+ms"/, cmd);
    }
    const d = await runArgv([...cli, 'diagnose', '--help']);
    assert.match(d.stdout, /probe timeout \(default: "1s"\)/);
  });
}
