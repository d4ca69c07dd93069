// The Prometheus alerting rules in deploy/ pass `promtool check rules` and `promtool test rules`
// (Debian's prometheus package), and alert on the metric names DESIGN §3 defines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, requireBinary } from '../../helpers/live.js';

const DIR = path.join(REPO, 'deploy/prometheus');

test('promtool check rules: the four enotconn alerts are valid', (t) => {
  if (!requireBinary(t, 'promtool')) return;
  const r = spawnSync('promtool', ['check', 'rules', 'enotconn-rules.yaml'], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 4 rules found/);
  const text = fs.readFileSync(path.join(DIR, 'enotconn-rules.yaml'), 'utf8');
  for (const a of ['EnotconnMountDown', 'EnotconnMountFlapping', 'EnotconnHealFailed', 'EnotconnProbeOrphans']) {
    assert.match(text, new RegExp(`alert: ${a}\\n`));
  }
});

test('promtool test rules: mount down, flapping, heal failed and probe orphans fire when they should', (t) => {
  if (!requireBinary(t, 'promtool')) return;
  const r = spawnSync('promtool', ['test', 'rules', 'enotconn-rules.test.yaml'], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});
