import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { loadCatalog } from '../../../src/knowledge/explain.js';
import { errnoRunbook, runbookMarkdown } from '../../../src/knowledge/runbook.js';
import { shellJoin, shellQuote } from '../../../src/knowledge/shell-quote.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { runCli } from '../../helpers/live.js';

let host: NodeHost;
let catalog: ErrnoCatalog;
before(async () => {
  host = new NodeHost();
  catalog = await loadCatalog(host);
});
after(() => host.close());

test('argv is rendered with shell quoting a human can copy', () => {
  assert.equal(shellQuote('/mnt/remote'), '/mnt/remote');
  assert.equal(shellQuote('/mnt/my data'), "'/mnt/my data'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote(''), "''");
  assert.equal(shellJoin(['fusermount3', '-uz', '/mnt/a b;rm -rf /']), "fusermount3 -uz '/mnt/a b;rm -rf /'");
});

test('an errno runbook has one section per context the errno occurs in', () => {
  const rb = errnoRunbook(catalog, 'ENOTCONN', Date.parse('2026-11-21T09:00:00Z'));
  assert.deepEqual(
    rb.contexts.map((c) => c.context),
    ['mount', 'socket', 'unknown'],
  );
  const md = runbookMarkdown(rb);
  assert.match(md, /^# Runbook: ENOTCONN \(errno 107\): Transport endpoint is not connected$/m);
  assert.match(md, /^## On a mount/m);
  assert.match(md, /^## On a socket/m);
  assert.equal(errnoRunbook(catalog, '116', 0).errno, 'ESTALE');
  assert.deepEqual(
    errnoRunbook(catalog, 'ESTALE', 0).contexts.map((c) => c.context),
    ['mount'],
  );
});

test('CLI: runbook for an unknown errno is bad input (exit 2); --format json is JSON', async () => {
  const bad = await runCli(['runbook', 'EFOOBAR']);
  assert.equal(bad.code, 2);
  const j = await runCli(['runbook', 'ECONNRESET', '--format', 'json']);
  assert.equal(j.code, 0, j.stderr);
  assert.equal((JSON.parse(j.stdout) as { errno: string }).errno, 'ECONNRESET');
  assert.equal((await runCli(['runbook', 'ENOTCONN', '--format', 'html'])).code, 2);
});
