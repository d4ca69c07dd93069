import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { loadCatalog } from '../../../src/knowledge/explain.js';
import { scanLog } from '../../../src/knowledge/log-scan.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { runCli, tempDir } from '../../helpers/live.js';
import fs from 'node:fs';
import path from 'node:path';

let host: NodeHost;
let catalog: ErrnoCatalog;
before(async () => {
  host = new NodeHost();
  catalog = await loadCatalog(host);
});
after(() => host.close());

// One line of each class explain --log must count, with the errno and context it must report.
const CLASSES: ReadonlyArray<readonly [string, string, string, string]> = [
  ['macOS numbering', 'ConnectionResetError: [Errno 54] Connection reset by peer', 'ECONNRESET', 'socket'],
  ['Windows Sockets number', 'ConnectionAbortedError: [WinError 10053] something', 'ECONNABORTED', 'socket'],
  [
    'Windows Sockets message (Go)',
    'read tcp 10.0.0.2:5000->10.0.0.3:443: wsarecv: An existing connection was forcibly closed by the remote host.',
    'ECONNRESET',
    'socket',
  ],
  ['glibc translation', "ls: 无法访问 '/mnt/remote': 传输端点尚未连接", 'ENOTCONN', 'mount'],
  // Nothing but the Russian wording marks this one (the pre-filter must find a capitalised Cyrillic text).
  [
    'glibc translation (Cyrillic)',
    'W [fuse-bridge.c:582:fuse_entry_cbk] 0-glusterfs-fuse: 5: LOOKUP() /d => -1 (Конечная точка передачи не подсоединена)',
    'ENOTCONN',
    'mount',
  ],
  [
    'Windows translation',
    'System.Net.Sockets.SocketException: Удаленный хост принудительно разорвал существующее подключение',
    'ECONNRESET',
    'socket',
  ],
  ['resolver (Node)', 'Error: getaddrinfo EAI_AGAIN registry.example.org', 'EAI_AGAIN', 'dns'],
  ['resolver (Python)', 'socket.gaierror: [Errno -2] Name or service not known', 'EAI_NONAME', 'dns'],
  ['negative kernel number', 'CIFS: VFS: \\\\srv Send error in SessSetup = -104', 'ECONNRESET', 'mount'],
  ['errno=N', 'worker 3: upstream send failed errno=32 (socket closed)', 'EPIPE', 'socket'],
  ['Java constant', 'java.nio.channels.NotYetConnectedException', 'ENOTCONN', 'socket'],
  ['Erlang atom', '** exception exit: {badmatch,{error,econnrefused}}', 'ECONNREFUSED', 'socket'],
  [
    'Rust kind',
    'Error: Os { code: 107, kind: NotConnected, message: "Transport endpoint is not connected" }',
    'ENOTCONN',
    'socket',
  ],
  ['OpenSSH prefix', 'client_loop: send disconnect: Broken pipe', 'EPIPE', 'socket'],
  [
    'gluster callback',
    '[fuse-bridge.c:582:fuse_entry_cbk] 0-glusterfs-fuse: 9: LOOKUP() /a => -1 (Transport endpoint is not connected)',
    'ENOTCONN',
    'mount',
  ],
  [
    'Envoy',
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111',
    'ECONNREFUSED',
    'socket',
  ],
  [
    'nginx',
    '2024/01/01 00:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9',
    'ECONNREFUSED',
    'socket',
  ],
];

// Lines that only name an errno: never counted.
const MENTIONS = [
  'Add ECONNRESET to the list of retryable errors (#123)',
  'retry_on: ECONNRESET, ETIMEDOUT, EPIPE',
  'fix: treat EAI_AGAIN as retryable',
];

function log(): string {
  const out: string[] = [];
  for (const [, line] of CLASSES) out.push('INFO request served in 12ms', line);
  out.push(...MENTIONS, 'INFO all good');
  return `${out.join('\n')}\n`;
}

test('explain --log counts a line of every class, and none of the lines that only mention an errno', async () => {
  const s = await scanLog(Readable.from([Buffer.from(log())]), catalog, 'test');
  assert.equal(s.matchedLines, CLASSES.length);
  const seen = s.groups.map((g) => `${g.errno}/${g.context}`).sort();
  const want = [...new Set(CLASSES.map(([, , e, c]) => `${e}/${c}`))].sort();
  assert.deepEqual([...new Set(seen)].sort(), want);
  const total = s.groups.reduce((n, g) => n + g.count, 0);
  assert.equal(total, CLASSES.length);
});

test('each class alone is counted (the pre-filter sees it)', async () => {
  for (const [name, line, errno, context] of CLASSES) {
    const s = await scanLog(Readable.from([Buffer.from(`noise\n${line}\nnoise\n`)]), catalog, name);
    assert.equal(s.matchedLines, 1, name);
    assert.equal(s.groups[0]?.errno, errno, name);
    assert.equal(s.groups[0]?.context, context, name);
    assert.equal(s.groups[0]?.first.line, 2, name);
  }
});

test('CLI: explain --log on a log of ENOTCONN lines reports them (exit 1), not "No errno errors found"', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  fs.writeFileSync(file, log());
  const r = await runCli(['explain', '--log', file, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout) as { matchedLines: number };
  assert.equal(j.matchedLines, CLASSES.length);
});
