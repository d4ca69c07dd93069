import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { Alerter, postWebhook } from '../../../src/watch/alerts.js';
import { parseConfig } from '../../../src/watch/config.js';
import { silentLogger } from '../../../src/watch/logger.js';
import { WatchStore } from '../../../src/watch/store.js';

function setup(t: TestContext, alertsYaml: string): { alerter: Alerter; store: WatchStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-walert-'));
  const host = new NodeHost({ stateDir: dir, runDir: path.join(dir, 'run') });
  const store = WatchStore.open(dir);
  const alerter = new Alerter(host, store, parseConfig(alertsYaml).alerts, silentLogger());
  t.after(() => {
    alerter.stop();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { alerter, store, dir };
}

async function receiver(t: TestContext, status: () => number): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      bodies.push(b);
      res.writeHead(status());
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, bodies };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a webhook gets the event as a JSON POST', async (t) => {
  const r = await receiver(t, () => 204);
  const { alerter, store } = setup(t, `alerts:\n  webhooks:\n    - url: ${r.url}\n`);
  alerter.start();
  const ev = alerter.event('incident-opened', '/m', '/m is dead', { incidentId: 1 });
  alerter.emit(ev);
  await until(() => r.bodies.length === 1 && alerter.pending === 0);
  assert.deepEqual(JSON.parse(r.bodies[0]!), ev);
  assert.equal(store.pendingAlerts(), 0);
});

test('quick retries cover one failed POST; the alert is delivered once', async (t) => {
  let calls = 0;
  const r = await receiver(t, () => (++calls === 1 ? 503 : 200));
  const { alerter } = setup(t, `alerts:\n  webhooks:\n    - url: ${r.url}\n      retries: 2\n`);
  alerter.start();
  alerter.emit(alerter.event('flapping', '/m', 'x'));
  await until(() => alerter.delivered === 1);
  assert.equal(r.bodies.length, 2);
});

test('a webhook that times out is reported as such', async (t) => {
  const srv = http.createServer(() => undefined); // never answers
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  t.after(() => {
    srv.closeAllConnections();
    return new Promise<void>((res) => srv.close(() => res()));
  });
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
  const cfg = parseConfig(`alerts:\n  webhooks:\n    - url: ${url}\n      timeout: 200ms\n`).alerts.webhooks[0]!;
  assert.equal(await postWebhook(cfg, { a: 1 }), 'timed out after 200ms');
});

test('under --jitless (no WebAssembly, which fetch needs) a webhook fails with a reason and the process lives on', async (t) => {
  const r = await receiver(t, () => 200);
  const alerts = new URL('../../../src/watch/alerts.js', import.meta.url).href;
  const config = new URL('../../../src/watch/config.js', import.meta.url).href;
  const script = `
    const { postWebhook } = await import(${JSON.stringify(alerts)});
    const { parseConfig } = await import(${JSON.stringify(config)});
    const cfg = parseConfig(${JSON.stringify(`alerts:\n  webhooks:\n    - url: ${r.url}\n`)}).alerts.webhooks[0];
    console.log(await postWebhook(cfg, { a: 1 }));
    await new Promise((res) => setTimeout(res, 300)); // time for an error thrown outside the promise
  `;
  const child = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'cannot POST: this Node has no WebAssembly (--jitless), which fetch needs');
  assert.equal(r.bodies.length, 0);
});

test('while the receiver is down alerts stay queued in SQLite; a new Alerter (a restart) delivers them', async (t) => {
  let up = false;
  const r = await receiver(t, () => (up ? 200 : 500));
  const { alerter, store, dir } = setup(t, `alerts:\n  webhooks:\n    - url: ${r.url}\n      retries: 0\n`);
  alerter.start();
  for (let i = 0; i < 3; i++) alerter.emit(alerter.event('incident-opened', `/m${i}`, 'x'));
  await until(() => store.listAlerts().some((a) => a.attempts > 0));
  alerter.stop();
  assert.equal(store.pendingAlerts(), 3);
  up = true;
  const host = new NodeHost({ stateDir: dir, runDir: path.join(dir, 'run') });
  const again = new Alerter(
    host,
    store,
    parseConfig(`alerts:\n  webhooks:\n    - url: ${r.url}\n`).alerts,
    silentLogger(),
  );
  t.after(() => again.stop());
  // The failed one waits out its requeue delay (1 s); the rest follow it in order.
  again.start();
  await until(() => again.pending === 0);
  const got = r.bodies.filter((_, i) => i >= 1).map((b) => (JSON.parse(b) as { mountpoint: string }).mountpoint);
  assert.deepEqual(got, ['/m0', '/m1', '/m2']);
});

test('an exec hook gets the event as JSON on stdin', async (t) => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'enc-whook-')), 'event.json');
  t.after(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));
  const { alerter } = setup(t, `alerts:\n  exec:\n    - argv: [sh, -c, 'cat > "$0"', ${JSON.stringify(out)}]\n`);
  alerter.start();
  const ev = alerter.event('heal-failed', '/m', 'heal failed');
  alerter.emit(ev);
  await until(() => alerter.delivered === 1);
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), ev);
});

test('events outside alerts.events are logged but not queued', (t) => {
  const { alerter, store } = setup(t, 'alerts:\n  webhooks:\n    - url: http://127.0.0.1:9/\n  events: [flapping]\n');
  alerter.emit(alerter.event('incident-opened', '/m', 'x'));
  assert.equal(store.pendingAlerts(), 0);
  alerter.emit(alerter.event('flapping', '/m', 'x'));
  assert.equal(store.pendingAlerts(), 1);
});
