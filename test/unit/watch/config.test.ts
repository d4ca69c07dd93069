import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configProblems, defaultConfig, formatKey, parseConfig } from '../../../src/watch/config.js';
import { isEnotconnError } from '../../../src/errors.js';

// The error message, asserting it is ENC_CONFIG.
function configError(text: string): string {
  try {
    parseConfig(text, 'w.yaml');
  } catch (e) {
    assert.ok(isEnotconnError(e));
    assert.equal(e.code, 'ENC_CONFIG');
    return e.message;
  }
  assert.fail('the config was accepted');
}

test('an empty file gives the documented defaults', () => {
  const c = parseConfig('', 'w.yaml');
  assert.deepEqual(c, defaultConfig());
  assert.equal(c.interval, 5000);
  assert.equal(c.probeTimeout, 2000);
  assert.equal(c.listen, '127.0.0.1:9717');
  assert.equal(c.heal.policy, 'off');
  assert.equal(c.heal.failuresBeforeIncident, 2);
  assert.deepEqual(c.heal.breaker, { maxHeals: 5, window: 600_000, cooldown: 1_800_000 });
  assert.deepEqual(c.managed, []);
  assert.deepEqual(c.alerts.events, ['incident-opened', 'incident-closed', 'heal-failed', 'flapping']);
});

test('durations accept 500ms, 2s, 1m and compound forms', () => {
  const c = parseConfig(
    'interval: 1m\nprobeTimeout: 500ms\nconfirmInterval: 250ms\nheal:\n  backoff: { initial: 2s }\n',
  );
  assert.equal(c.interval, 60_000);
  assert.equal(c.probeTimeout, 500);
  assert.equal(c.confirmInterval, 250);
  assert.equal(c.heal.backoff.initial, 2000);
  assert.equal(c.heal.backoff.max, 300_000);
});

test('a managed mount keeps its argv, owner, env and stop policy', () => {
  const c = parseConfig(
    'managed:\n  - name: data\n    argv: [sshfs, -f, "u@h:/d", /mnt/d]\n    mountpoint: /mnt/d\n    owner: { uid: 1000, gid: 1000 }\n    env: { SSH_AUTH_SOCK: /run/a }\n    onStop: leave-mounted\n    oomScoreAdj: -900\n',
  );
  assert.deepEqual(c.managed[0], {
    name: 'data',
    argv: ['sshfs', '-f', 'u@h:/d', '/mnt/d'],
    mountpoint: '/mnt/d',
    owner: { uid: 1000, gid: 1000 },
    env: { SSH_AUTH_SOCK: '/run/a' },
    onStop: 'leave-mounted',
    oomScoreAdj: -900,
    readyTimeout: 15_000,
    createMountpoint: true,
  });
});

test('errors name the file, the line of the key, the key path and the message', () => {
  assert.equal(
    configError('interval: 2s\nheal:\n  policy: sometimes\n'),
    'w.yaml:3: heal.policy: Invalid option: expected one of "off"|"dry-run"|"on"',
  );
  assert.equal(
    configError(
      'managed:\n  - name: a\n    argv: [x]\n    mountpoint: /m\n  - name: b\n    argv: []\n    mountpoint: /n\n',
    ),
    'w.yaml:6: managed[1].argv: needs at least the program name',
  );
  assert.match(configError('log:\n  level: loud\n'), /^w\.yaml:2: log\.level: /);
  assert.match(
    configError('heal:\n  polcy: on\n'),
    /^w\.yaml:2: heal\.polcy: unknown key \(allowed: policy, failuresBeforeIncident, /,
  );
  assert.equal(configError('jitter: 2\n'), 'w.yaml:1: jitter: Too big: expected number to be <=0.9');
});

test('a missing required key points at its parent item', () => {
  assert.equal(
    configError('alerts:\n  webhooks:\n    - timeout: 1s\n'),
    'w.yaml:3: alerts.webhooks[0].url: is required (must be an http or https URL)',
  );
});

test('two managed mounts on one mountpoint are refused (they would stack two mounts)', () => {
  assert.match(
    configError(
      'managed:\n  - name: a\n    argv: [x]\n    mountpoint: /m\n  - name: b\n    argv: [y]\n    mountpoint: /m\n',
    ),
    /^w\.yaml:7: managed\[1\]\.mountpoint: managed\[0\] already mounts \/m/,
  );
});

test('YAML syntax errors and a non-mapping document give a line too', () => {
  assert.match(configError('a: [1\n'), /^w\.yaml:\d+: \(yaml\): /);
  assert.equal(
    configError('- 1\n- 2\n'),
    "w.yaml:1: (root): the config must be a mapping of keys, such as 'interval: 5s'",
  );
  assert.match(configError('interval: 1s\ninterval: 2s\n'), /^w\.yaml:2: \(yaml\): Map keys must be unique/);
});

test('formatKey prints paths the way the messages do', () => {
  assert.equal(formatKey([]), '(root)');
  assert.equal(formatKey(['managed', 0, 'owner', 'uid']), 'managed[0].owner.uid');
});

test('a bare number, an overflow and an out-of-range duration each name file:line and key', () => {
  assert.deepEqual(
    configProblems(
      'interval: 5\nprobeTimeout: 999999m\nheal:\n  timeout: 50ms\n  breaker: { window: 10ms }\n',
      'w.yaml',
    ),
    [
      "w.yaml:1: interval: invalid duration '5': a unit is required, such as 5s or 5ms",
      "w.yaml:2: probeTimeout: invalid duration '999999m': above the limit of 10m",
      "w.yaml:5: heal.breaker.window: invalid duration '10ms': below the minimum of 1s",
    ],
  );
  assert.deepEqual(configProblems('interval: 1m30s\n'), []);
});

test('a YAML alias bomb is a config error with a line, not an internal error', () => {
  const rows = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    rows.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  const problems = configProblems(`${rows.join('\n')}\n`, 'bomb.yaml');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^bomb\.yaml:2: \(yaml\): too many alias expansions \(more than 100\)/);
  assert.throws(() => parseConfig(`${rows.join('\n')}\n`, 'bomb.yaml'), { code: 'ENC_CONFIG' });
});

test('every problem is reported, unknown keys and wrong types included', () => {
  assert.deepEqual(configProblems('intervall: 5s\nconcurrency: "8"\nlog: { level: loud }\n', 'c.yaml'), [
    'c.yaml:1: intervall: unknown key (allowed: interval, jitter, probeTimeout, confirmInterval, concurrency, listen, allowedHosts, stateDir, observe, heal, managed, managedRestart, alerts, log)',
    'c.yaml:2: concurrency: Invalid input: expected number, received string',
    'c.yaml:3: log.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
  ]);
});
