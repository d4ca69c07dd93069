import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequest, hostAllowed, splitHost, type HostPolicy } from '../../../src/watch/request-check.js';
import { guardHandlers, EXIT_INTERNAL } from '../../../src/watch/guard.js';
import { silentLogger } from '../../../src/watch/logger.js';

const local: HostPolicy = { port: 9717, listenHost: '127.0.0.1', names: [] };
const wild: HostPolicy = { port: 9717, listenHost: '0.0.0.0', names: ['node-1.example'] };

test('Host: the listen address, localhost and configured names on our port; never another name', () => {
  for (const h of ['127.0.0.1:9717', 'localhost:9717', 'LOCALHOST:9717', '[::1]:9717', '127.0.0.2:9717']) {
    assert.ok(hostAllowed(h, local), h);
  }
  for (const h of [
    'evil.example:9717',
    '127.0.0.1:80',
    '127.0.0.1',
    '10.0.0.5:9717',
    '',
    'a b:9717',
    '127.0.0.1:99999',
  ]) {
    assert.equal(hostAllowed(h, local), false, h);
  }
  assert.equal(hostAllowed(undefined, local), false);
  // A wildcard listener serves any IP literal (not rebindable) and the configured names only.
  assert.ok(hostAllowed('10.0.0.5:9717', wild));
  assert.ok(hostAllowed('node-1.example:9717', wild));
  assert.equal(hostAllowed('node-2.example:9717', wild), false);
  assert.deepEqual(splitHost('[fe80::1]:80'), { name: 'fe80::1', port: 80 });
});

test('requests are judged before any work: method, target form, Host, Origin', () => {
  const h = { host: '127.0.0.1:9717' };
  assert.deepEqual(checkRequest('POST', '/', h, local), { ok: false, status: 405, reason: 'only GET and HEAD' });
  assert.equal((checkRequest('GET', 'http://[::1', h, local) as { status: number }).status, 400);
  assert.equal((checkRequest('GET', '//evil/x', h, local) as { status: number }).status, 400);
  assert.equal((checkRequest('GET', `/${'x'.repeat(3000)}`, h, local) as { status: number }).status, 414);
  assert.equal(
    (checkRequest('GET', '/metrics', { host: 'evil.example:9717' }, local) as { status: number }).status,
    421,
  );
  assert.equal(
    (checkRequest('GET', '/api/mounts', { ...h, origin: 'http://evil.example:9717' }, local) as { status: number })
      .status,
    403,
  );
  assert.equal(
    (checkRequest('GET', '/api/mounts', { ...h, 'sec-fetch-site': 'cross-site' }, local) as { status: number }).status,
    403,
  );
  const ok = checkRequest('HEAD', '/api/incidents?limit=5&open=1', { ...h, origin: 'http://127.0.0.1:9717' }, local);
  assert.ok(ok.ok);
  assert.equal(ok.ok && ok.pathname, '/api/incidents');
  assert.equal(ok.ok && ok.params.get('limit'), '5');
});

test('the process guard logs a rejection and keeps going; an uncaught exception is one fatal line and exit 70', async () => {
  const lines: string[] = [];
  const log = silentLogger();
  log.error = ((_o: unknown, m?: string) => {
    lines.push(`error ${m}`);
  }) as typeof log.error;
  log.fatal = ((_o: unknown, m?: string) => {
    lines.push(`fatal ${m}`);
  }) as typeof log.fatal;
  const exits: number[] = [];
  const g = guardHandlers(log, (c) => exits.push(c));
  g.onRejection(new Error('late reject'));
  assert.deepEqual(exits, []);
  g.onException(new TypeError('Invalid URL'));
  assert.deepEqual(exits, [EXIT_INTERNAL]);
  assert.match(lines[0]!, /^error unhandled promise rejection \(watch keeps running\): late reject$/);
  assert.match(lines[1]!, /^fatal uncaught exception, exiting because watch's state may be corrupt .*: Invalid URL$/);
});
