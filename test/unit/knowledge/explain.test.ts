import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { explain, loadCatalog, type Explanation } from '../../../src/knowledge/explain.js';
import { buildPrefilter, prefilterRegExps, scanErrnos } from '../../../src/knowledge/prefilter.js';
import { recogniseLine } from '../../../src/knowledge/recognise.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { REPO, runCli } from '../../helpers/live.js';

interface Case {
  line: string;
  errno: string;
  context: string;
}
const corpus = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/explain/corpus.json'), 'utf8')) as Case[];

let host: NodeHost;
let catalog: ErrnoCatalog;
before(async () => {
  host = new NodeHost();
  catalog = await loadCatalog(host);
});
after(() => host.close());

async function ex(input: string): Promise<Explanation> {
  const r = await explain(host, catalog, input, { offline: true });
  assert.ok(r.recognised, `not recognised: ${input}`);
  return r;
}

test('the corpus holds at least 60 real-world lines', () => {
  assert.ok(corpus.length >= 60, `only ${corpus.length} lines`);
});

test('every corpus line is recognised with its expected errno and context', async () => {
  const wrong: string[] = [];
  for (const c of corpus) {
    const r = await explain(host, catalog, c.line, { offline: true });
    const got = r.recognised ? `${r.errno}/${r.context}` : 'not recognised';
    if (got !== `${c.errno}/${c.context}`) wrong.push(`${got} (want ${c.errno}/${c.context}): ${c.line}`);
  }
  assert.deepEqual(wrong, []);
});

test('names, numbers and messages come from the running system', async () => {
  const a = await ex('ENOTCONN');
  assert.equal(a.number, 107);
  assert.equal(a.message, 'Transport endpoint is not connected');
  assert.equal((await ex('107')).errno, 'ENOTCONN');
  assert.equal((await ex('errno 107')).errno, 'ENOTCONN');
  assert.equal((await ex('enotconn')).errno, 'ENOTCONN');
  assert.equal((await ex('Stale file handle')).errno, 'ESTALE');
  assert.equal((await ex('Device or resource busy')).errno, 'EBUSY');
  assert.equal((await ex('Connection reset by peer')).errno, 'ECONNRESET');
  assert.equal((await ex('Broken pipe')).errno, 'EPIPE');
  // EHOSTDOWN is not in os.constants.errno: its name and number come from the C library.
  const h = await ex('EHOSTDOWN');
  assert.equal(h.number, 112);
  assert.equal(h.message, 'Host is down');
});

test('ENOTCONN means a dead backend on a mount and a reset peer on shutdown()', async () => {
  const m = await ex("ls: cannot access '/mnt/x': Transport endpoint is not connected");
  assert.equal(m.context, 'mount');
  assert.equal(m.path, '/mnt/x');
  assert.match(m.meaning, /backend is gone/);
  assert.ok(m.nextSteps.some((s) => s.includes('enotconn diagnose /mnt/x')));
  const s = await ex('Error: shutdown ENOTCONN');
  assert.equal(s.context, 'socket');
  assert.equal(s.syscall, 'shutdown');
  assert.match(s.meaning, /peer reset it or the local side already closed it/);
});

test('tool wording is mapped and says so: Java "Connection reset", Go "i/o timeout"', async () => {
  const j = await ex('java.net.SocketException: Connection reset');
  assert.equal(j.errno, 'ECONNRESET');
  assert.equal(j.via, 'phrase');
  assert.match(j.note ?? '', /Java/);
  const g = await ex('dial tcp 203.0.113.4:443: i/o timeout');
  assert.equal(g.errno, 'ETIMEDOUT');
  assert.equal(g.peer, '203.0.113.4:443');
  assert.match(g.note ?? '', /deadline/);
});

test('the peer of a Go connection is the remote end, after the arrow', async () => {
  const r = await ex('read tcp 10.0.0.1:5000->10.0.0.2:80: read: connection reset by peer');
  assert.equal(r.peer, '10.0.0.2:80');
  assert.equal(r.syscall, 'read');
  assert.equal(r.tool, 'go');
});

test('an errno without specific guidance is explained honestly from the system message', async () => {
  const r = await ex('EDOM');
  assert.equal(r.known, false);
  assert.match(r.meaning, /no specific guidance/);
  assert.deepEqual(r.causes, []);
});

test('input that names no errno is "not recognised", never a guess', async () => {
  for (const input of ['hello world', 'ERROR something failed', '99999', 'EFOOBAR', 'GET /api 200 12ms']) {
    const r = await explain(host, catalog, input, { offline: true });
    assert.equal(r.recognised, false, input);
  }
});

test('"Too many open files in system" is ENFILE, not the shorter EMFILE message inside it', () => {
  const r = recogniseLine('accept4: Too many open files in system', catalog);
  assert.equal(r?.errno.name, 'ENFILE');
});

test('the log pre-filter matches every corpus line whose errno a log scan looks for', () => {
  const only = scanErrnos();
  const re = prefilterRegExps(buildPrefilter(catalog, only));
  const missed = corpus
    .filter((c) => recogniseLine(c.line, catalog, { only }) !== null)
    .filter((c) => {
      re.names.lastIndex = 0;
      re.literals.lastIndex = 0;
      return !re.names.test(c.line) && !re.literals.test(c.line);
    })
    .map((c) => c.line);
  assert.deepEqual(missed, []);
  // Long anchors keep irregexp's skip-ahead (prefilter.ts); a non-ASCII anchor counts its UTF-8 bytes.
  const short = buildPrefilter(catalog, only).literals.filter((l) => Buffer.byteLength(l) < 8);
  assert.deepEqual(short, []);
});

test('CLI: explain --json prints the DESIGN shape; exit 0 explained, 1 not recognised, 2 empty', async () => {
  const ok = await runCli(['explain', '--offline', '--json', 'Error: read ECONNRESET']);
  assert.equal(ok.code, 0, ok.stderr);
  const j = JSON.parse(ok.stdout) as Record<string, unknown>;
  for (const k of ['errno', 'number', 'message', 'context', 'path', 'meaning', 'causes', 'nextSteps'])
    assert.ok(k in j, k);
  assert.equal(j.errno, 'ECONNRESET');
  assert.equal(j.context, 'socket');
  const no = await runCli(['explain', '--offline', '--json', 'everything is fine']);
  assert.equal(no.code, 1);
  assert.equal((JSON.parse(no.stdout) as { recognised: boolean }).recognised, false);
  const human = await runCli(['explain', '--offline', 'everything is fine']);
  assert.match(human.stdout, /^not recognised: everything is fine/);
  const empty = await runCli(['explain', '']);
  assert.equal(empty.code, 2);
  assert.equal(empty.stderr.split('\n').filter((l) => l !== '').length, 1);
});

test('CLI: a path not under a FUSE or network mount gets no diagnosis, and no error', async () => {
  const r = await runCli(['explain', '--json', 'cat: /etc/hostname: Transport endpoint is not connected']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Explanation;
  assert.equal(j.context, 'mount');
  assert.equal(j.diagnosis, undefined);
  assert.equal(j.mount, undefined);
});
