import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { loadCatalog } from '../../../src/knowledge/explain.js';
import { scanLog, type LogSummary } from '../../../src/knowledge/log-scan.js';
import { lineTimestamp } from '../../../src/knowledge/timestamps.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { runCli, tempDir } from '../../helpers/live.js';

let host: NodeHost;
let catalog: ErrnoCatalog;
before(async () => {
  host = new NodeHost();
  catalog = await loadCatalog(host);
});
after(() => host.close());

// A deterministic mixed log: noise, plus error lines at known line numbers.
function synthetic(lines: number): {
  text: string;
  expect: Map<string, { count: number; first: number; last: number }>;
} {
  const out: string[] = [];
  const expect = new Map<string, { count: number; first: number; last: number }>();
  const note = (key: string, n: number): void => {
    const e = expect.get(key);
    if (e) {
      e.count++;
      e.last = n;
    } else expect.set(key, { count: 1, first: n, last: n });
  };
  for (let i = 1; i <= lines; i++) {
    const ts = new Date(Date.UTC(2026, 10, 21, 9, 0, 0) + i * 1000).toISOString();
    if (i % 97 === 0) {
      out.push(`${ts} worker[7]: ls: cannot access '/mnt/remote/ünïcode dir': Transport endpoint is not connected`);
      note('ENOTCONN|mount|/mnt/remote/ünïcode dir', i);
    } else if (i % 89 === 0) {
      out.push(`${ts} api[9]: Error: connect ECONNREFUSED 127.0.0.1:5432`);
      note('ECONNREFUSED|socket|127.0.0.1:5432', i);
    } else if (i % 83 === 0) {
      out.push(`${ts} api[9]: read tcp 10.0.0.1:${40000 + (i % 1000)}->10.0.0.2:80: read: connection reset by peer`);
      note('ECONNRESET|socket|10.0.0.2:80', i);
    } else if (i % 79 === 0) {
      out.push(`${ts} backup[3]: OSError: [Errno 116] Stale file handle: '/mnt/nfs/db'`);
      note('ESTALE|mount|/mnt/nfs/db', i);
    } else if (i % 61 === 0) {
      // Not looked for: ENOENT is ordinary, ENFILE's message must not count as EMFILE.
      out.push(
        i % 2 === 0 ? `${ts} cat: /tmp/x: No such file or directory` : `${ts} accept4: Too many open files in system`,
      );
    } else if (i % 7 === 0) {
      out.push(`${ts} api[9]: ERROR request failed: upstream returned 502 (connection pool exhausted)`);
    } else {
      out.push(`${ts} api[9]: INFO GET /api/v1/items/${i} 200 ${i % 50}ms`);
    }
  }
  return { text: `${out.join('\n')}\n`, expect };
}

function keyed(s: LogSummary): Map<string, { count: number; first: number; last: number }> {
  return new Map(
    s.groups.map((g) => [
      `${g.errno}|${g.context}|${g.path ?? g.peer}`,
      { count: g.count, first: g.first.line, last: g.last.line },
    ]),
  );
}

// Split a buffer into chunks of varying sizes, so lines and UTF-8 sequences straddle chunk ends.
function chunked(buf: Buffer, seed = 7): Readable {
  const parts: Buffer[] = [];
  let x = seed;
  for (let off = 0; off < buf.length;) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const n = 1 + (x % 5000);
    parts.push(buf.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

test('a 200,000-line mixed log gives exact counts and first/last lines per group', async () => {
  const { text, expect } = synthetic(200_000);
  const s = await scanLog(chunked(Buffer.from(text)), catalog, 'synthetic');
  assert.equal(s.lines, 200_000);
  assert.equal(s.bytes, Buffer.byteLength(text));
  assert.deepEqual(keyed(s), expect);
  assert.equal(
    s.matchedLines,
    [...expect.values()].reduce((a, e) => a + e.count, 0),
  );
  // Ranked: most frequent first.
  const counts = s.groups.map((g) => g.count);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => b - a),
  );
  // The first line's own timestamp is reported.
  const enotconn = s.groups.find((g) => g.errno === 'ENOTCONN')!;
  assert.equal(enotconn.first.at, new Date(Date.UTC(2026, 10, 21, 9, 0, 0) + 97 * 1000).toISOString());
});

test('the same log in one chunk and in many gives the same summary', async () => {
  const { text } = synthetic(20_000);
  const a = await scanLog(Readable.from([Buffer.from(text)]), catalog, 'x');
  const b = await scanLog(chunked(Buffer.from(text), 3), catalog, 'x');
  assert.deepEqual(keyed(a), keyed(b));
  assert.equal(a.lines, b.lines);
});

test('lines without timestamps are placed by line number; CRLF and a last line without newline count', async () => {
  const text = 'hello\r\nError: write EPIPE\r\nfine\r\nError: write EPIPE';
  const s = await scanLog(Readable.from([Buffer.from(text)]), catalog, 'x');
  assert.equal(s.lines, 4);
  assert.equal(s.groups.length, 1);
  assert.deepEqual(s.groups[0]!.first, { line: 2, at: null });
  assert.deepEqual(s.groups[0]!.last, { line: 4, at: null });
  assert.equal(s.groups[0]!.sample, 'Error: write EPIPE');
});

test('an over-long line is scanned in part and the count of lines stays right', async () => {
  const long = `Error: read ECONNRESET ${'x'.repeat(50_000)}`;
  const text = `a\n${long}\nError: read ECONNRESET\n`;
  const s = await scanLog(chunked(Buffer.from(text)), catalog, 'x', { maxLineBytes: 4096 });
  assert.equal(s.longLines, 1);
  assert.equal(s.lines, 3);
  assert.equal(s.groups[0]!.count, 2);
  assert.deepEqual([s.groups[0]!.first.line, s.groups[0]!.last.line], [2, 3]);
});

test('distinct paths beyond the group cap are merged per errno, so memory stays bounded', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) lines.push(`cat: /mnt/r/f${i}: Transport endpoint is not connected`);
  const s = await scanLog(Readable.from([Buffer.from(lines.join('\n'))]), catalog, 'x', { maxGroups: 100 });
  assert.equal(s.groups.length, 101);
  assert.equal(s.groupsCapped, true);
  const merged = s.groups.find((g) => g.path === null)!;
  assert.equal(merged.count, 400);
});

test('timestamps are read from common log prefixes', () => {
  assert.equal(lineTimestamp('2026-11-21T09:12:03.123Z host x'), '2026-11-21T09:12:03.123Z');
  assert.equal(lineTimestamp('2026-11-21 09:12:03,123 ERROR x'), '2026-11-21T09:12:03.123');
  assert.equal(lineTimestamp('2026/11/21 09:12:03 [error] 1#1: x'), '2026-11-21T09:12:03');
  assert.equal(lineTimestamp('1.2.3.4 - - [21/Nov/2026:09:12:03 +0100] "GET /"'), '2026-11-21T09:12:03+01:00');
  assert.equal(lineTimestamp('Nov 21 09:12:03 host sshfs[1]: x'), 'Nov 21 09:12:03');
  assert.equal(lineTimestamp('[12345.678901] fuse: x'), '[12345.678901]');
  assert.equal(lineTimestamp('no time here'), null);
});

test('CLI: explain --log FILE and stdin give the same JSON; exit 1 when errors are found, 0 when none', async (t) => {
  const dir = tempDir(t);
  const { text, expect } = synthetic(5000);
  const file = path.join(dir, 'app.log');
  fs.writeFileSync(file, text);
  const a = await runCli(['explain', '--log', file, '--json']);
  assert.equal(a.code, 1, a.stderr);
  const sa = JSON.parse(a.stdout) as LogSummary;
  assert.deepEqual(keyed(sa), expect);
  const b = await runCli(['explain', '--log', '-', '--json'], { input: text });
  assert.deepEqual(keyed(JSON.parse(b.stdout) as LogSummary), expect);
  const human = await runCli(['explain', '--log', file]);
  assert.match(human.stdout, /^#\s+COUNT\s+ERRNO\s+CONTEXT\s+PATH\/PEER\s+FIRST\s+LAST/);
  const clean = path.join(dir, 'clean.log');
  fs.writeFileSync(clean, 'all good\nstill good\n');
  const c = await runCli(['explain', '--log', clean]);
  assert.equal(c.code, 0);
  assert.match(c.stdout, /No errno errors found/);
  const missing = await runCli(['explain', '--log', path.join(dir, 'nope.log')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file/);
});
