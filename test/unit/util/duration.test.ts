import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDuration, formatDuration, MAX_TIMER_MS, parseDuration } from '../../../src/util/duration.js';

test('durations as Go and Prometheus write them: single and compound units', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1h2m3.5s', 'x', { max: MAX_TIMER_MS }), 3_723_500);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('.5s'), 500);
  assert.equal(parseDuration('1m500ms'), 60_500);
});

test('a bare number is a usage error naming the flag and a unit to add', () => {
  assert.throws(() => parseDuration('2', '--timeout'), {
    code: 'ENC_USAGE',
    message: "invalid --timeout '2': a unit is required, such as 2s or 2ms",
  });
  assert.throws(() => parseDuration('0', '--timeout'), { code: 'ENC_USAGE', message: /a unit is required/ });
});

test('garbage, spaces, repeated units, negatives and zero are refused', () => {
  for (const bad of ['soon', '1 m', '1m1m', '-1s', '1s-', 's', '', '1y', '1e3ms', '0s', '0ms']) {
    assert.ok('error' in checkDuration(bad), bad);
  }
});

test('bounds: 10 minutes by default, the timer limit always, a minimum when asked', () => {
  assert.deepEqual(checkDuration('10m'), { ms: 600_000 });
  assert.deepEqual(checkDuration('10m1ms'), { error: 'above the limit of 10m' });
  assert.throws(() => parseDuration('999999m', '--timeout'), {
    code: 'ENC_USAGE',
    message: "invalid --timeout '999999m': above the limit of 10m",
  });
  // Even a caller asking for more never gets past setTimeout's signed 32-bit delay.
  assert.deepEqual(checkDuration('30d', { max: Number.MAX_SAFE_INTEGER }), {
    error: 'above the limit of 24d20h31m23.647s',
  });
  assert.deepEqual(checkDuration('50ms', { min: 100 }), { error: 'below the minimum of 100ms' });
});

test('formatDuration writes what parseDuration reads', () => {
  for (const ms of [1, 999, 1000, 1500, 90_000, 3_723_500, 86_400_000, MAX_TIMER_MS]) {
    assert.equal(parseDuration(formatDuration(ms), 'x', { max: MAX_TIMER_MS }), ms, formatDuration(ms));
  }
});
