import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Backoff, backoffDelay, CircuitBreaker, Hysteresis, jittered } from '../../../src/watch/policy.js';

test('hysteresis opens exactly once, on the Nth consecutive failure', () => {
  const h = new Hysteresis(2);
  assert.equal(h.record(false, 100), 'failing');
  assert.equal(h.failingSince, 100);
  assert.equal(h.record(false, 200), 'open');
  assert.equal(h.record(false, 300), 'still-failing');
  assert.equal(h.consecutiveFailures, 3);
  assert.equal(h.record(true, 400), 'ok');
  assert.equal(h.failingSince, null);
});

test('a single blip between successes never opens an incident', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (oks) => {
      const h = new Hysteresis(2);
      let prevFailed = false;
      for (const ok of oks) {
        const r = h.record(ok, 0);
        if (r === 'open') assert.ok(prevFailed, 'opened without two failures in a row');
        prevFailed = !ok;
      }
    }),
  );
});

test('backoff doubles from the initial delay up to the cap, and resets on success', () => {
  const o = { initialMs: 1000, maxMs: 5000, factor: 2 };
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((a) => backoffDelay(a, o)),
    [1000, 2000, 4000, 5000, 5000],
  );
  const b = new Backoff(o);
  assert.ok(b.ready(0));
  assert.equal(b.failed(10_000), 11_000);
  assert.equal(b.ready(10_999), false);
  assert.equal(b.failed(11_000), 13_000);
  b.reset();
  assert.ok(b.ready(11_001));
  assert.equal(b.failures, 0);
});

test('the breaker opens when K heals happened within the window, then half-opens after the cooldown', () => {
  const br = new CircuitBreaker({ maxHeals: 3, windowMs: 60_000, cooldownMs: 600_000 });
  for (const t of [0, 10_000, 20_000]) {
    assert.equal(br.shouldOpen(t), false);
    br.recordHeal(t);
  }
  assert.equal(br.shouldOpen(30_000), true);
  assert.equal(br.shouldOpen(30_001), false, 'reported once');
  assert.equal(br.allows(30_000), false);
  assert.equal(br.allows(629_999), false);
  assert.equal(br.allows(630_000), true);
  assert.equal(br.isOpen, false);
});

test('heals outside the window do not count', () => {
  const br = new CircuitBreaker({ maxHeals: 3, windowMs: 60_000, cooldownMs: 1 });
  br.recordHeal(0);
  br.recordHeal(1_000);
  br.recordHeal(61_000);
  assert.equal(br.count(62_000), 1);
  assert.equal(br.shouldOpen(62_000), false);
});

test('jitter stays within interval × (1 ± j)', () => {
  assert.equal(
    jittered(1000, 0.1, () => 0),
    900,
  );
  assert.equal(
    jittered(1000, 0.1, () => 0.5),
    1000,
  );
  assert.equal(
    jittered(1000, 0.1, () => 0.999999),
    1100,
  );
  assert.equal(
    jittered(1000, 0, () => 0.3),
    1000,
  );
});
