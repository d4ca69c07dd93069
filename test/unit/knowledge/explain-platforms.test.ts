import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { explain, loadCatalog, type Explanation, type NotRecognised } from '../../../src/knowledge/explain.js';
import { NodeHost } from '../../../src/host/node-host.js';

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

async function notError(input: string): Promise<NotRecognised> {
  const r = await explain(host, catalog, input, { offline: true });
  assert.equal(r.recognised, false, `claimed ${r.recognised ? r.errno : ''}: ${input}`);
  return r as NotRecognised;
}

test('macOS numbering: 54 next to "Connection reset by peer" is ECONNRESET on macOS, not EXFULL', async () => {
  const r = await ex('ConnectionResetError: [Errno 54] Connection reset by peer');
  assert.equal(r.errno, 'ECONNRESET');
  assert.equal(r.context, 'socket');
  assert.equal(r.platform, 'darwin');
  assert.equal(r.reportedNumber, 54);
  assert.equal(r.number, 104, 'number stays the Linux number of the errno');
  assert.ok(
    r.restsOn.some((x) => /macOS\/BSD numbering/.test(x)),
    r.restsOn.join('; '),
  );
  const refused = await ex('socket.error: [Errno 61] Connection refused');
  assert.equal(refused.errno, 'ECONNREFUSED');
  assert.equal(refused.platform, 'darwin');
  const notconn = await ex('OSError: [Errno 57] Socket is not connected');
  assert.equal(notconn.errno, 'ENOTCONN');
  assert.equal(notconn.platform, 'darwin');
});

test('when the number and the message disagree on every platform, the message wins and the answer says so', async () => {
  const r = await ex('[Errno 99] Connection refused');
  assert.equal(r.errno, 'ECONNREFUSED');
  assert.ok(
    r.restsOn.some((x) => /EADDRNOTAVAIL in Linux numbering; the message wins/.test(x)),
    r.restsOn.join('; '),
  );
});

test('Linux numbering agrees: the platform is Linux and the confidence high', async () => {
  const r = await ex('ConnectionResetError: [Errno 104] Connection reset by peer');
  assert.equal(r.platform, 'linux');
  assert.equal(r.confidence, 'high');
});

test('Windows Sockets: numbers, names, English messages and Go wsarecv/wsasend', async () => {
  for (const [line, errno] of [
    ['[WinError 10054] An existing connection was forcibly closed by the remote host', 'ECONNRESET'],
    ['error 10053', 'ECONNABORTED'],
    ['WSAENOTCONN', 'ENOTCONN'],
    ['System.Net.Sockets.SocketException (10060): A connection attempt failed', 'ETIMEDOUT'],
    [
      'read tcp 10.0.0.5:50123->10.0.0.9:443: wsarecv: An existing connection was forcibly closed by the remote host.',
      'ECONNRESET',
    ],
    [
      'write tcp 10.0.0.5:50123->10.0.0.9:443: wsasend: An established connection was aborted by the software in your host machine.',
      'ECONNABORTED',
    ],
  ] as const) {
    const r = await ex(line);
    assert.equal(r.errno, errno, line);
    assert.equal(r.platform, 'windows', line);
    assert.equal(r.context, 'socket', line);
  }
  assert.equal((await ex('WSAECONNRESET')).platformCode, 'WSAECONNRESET');
  assert.equal((await ex('10054')).errno, 'ECONNRESET');
});

test('translated messages: glibc locales (generated) and Windows languages (hand-added)', async () => {
  const zh = await ex("ls: 无法访问 '/mnt/remote': 传输端点尚未连接");
  assert.equal(zh.errno, 'ENOTCONN');
  assert.equal(zh.context, 'mount');
  assert.equal(zh.locale, 'zh_CN');
  const de = await ex('cat: /mnt/x/a: Der Socket ist nicht verbunden');
  assert.equal(de.errno, 'ENOTCONN');
  assert.equal(de.locale, 'de');
  const fr = await ex('ssh: connect to host example.org port 22: Connexion refusée');
  assert.equal(fr.errno, 'ECONNREFUSED');
  assert.equal(fr.context, 'socket');
  const ru = await ex('read: Соединение разорвано другой стороной');
  assert.equal(ru.errno, 'ECONNRESET');
  const win = await ex(
    'ConnectionRefusedError: [WinError 10061] Es konnte keine Verbindung hergestellt werden, da der Zielcomputer die Verbindung verweigerte',
  );
  assert.equal(win.errno, 'ECONNREFUSED');
  assert.equal(win.platform, 'windows');
});

test('resolver errors have context dns, with Node, Python, Go and curl wording', async () => {
  for (const [line, errno] of [
    ['Error: getaddrinfo ENOTFOUND api.example.invalid', 'EAI_NONAME'],
    ['Error: getaddrinfo EAI_AGAIN registry.npmjs.org', 'EAI_AGAIN'],
    ['socket.gaierror: [Errno -2] Name or service not known', 'EAI_NONAME'],
    ['socket.gaierror: [Errno -3] Temporary failure in name resolution', 'EAI_AGAIN'],
    ['dial tcp: lookup db.internal on 127.0.0.53:53: no such host', 'EAI_NONAME'],
    ['curl: (6) Could not resolve host: example.invalid', 'EAI_NONAME'],
    ['errno: -3008,', 'EAI_NONAME'],
  ] as const) {
    const r = await ex(line);
    assert.equal(r.errno, errno, line);
    assert.equal(r.context, 'dns', line);
  }
  const node = await ex('Error: getaddrinfo ENOTFOUND api.example.invalid');
  assert.match(node.meaning, /does not resolve/);
});

test('negative and bare numbers: kernel -104/-110, errno=N, errno:N, a MySQL "(111)"', async () => {
  assert.equal((await ex('ceph: mds0 reconnect error -104')).errno, 'ECONNRESET');
  assert.equal((await ex('nbd0: Receive control failed (result -110)')).errno, 'ETIMEDOUT');
  assert.equal((await ex('connect failed errno=111')).errno, 'ECONNREFUSED');
  assert.equal((await ex('send failed, errno:32')).errno, 'EPIPE');
  const my = await ex(
    "ERROR 2002 (HY000): Can't connect to local MySQL server through socket '/run/mysqld/mysqld.sock' (111)",
  );
  assert.equal(my.errno, 'ECONNREFUSED');
  assert.equal(my.context, 'socket');
  assert.equal((await ex('  errno: -4077,')).errno, 'ECONNRESET');
});

test("other languages' named constants", async () => {
  for (const [line, errno] of [
    ['Exception in thread "main" java.nio.channels.NotYetConnectedException', 'ENOTCONN'],
    ['** exception exit: {badmatch,{error,enotconn}}', 'ENOTCONN'],
    ['Error: Custom { kind: NotConnected, error: "socket closed" }', 'ENOTCONN'],
    ['ConnectionResetError', 'ECONNRESET'],
    ['BrokenPipeError', 'EPIPE'],
    ["/app/lib/client.rb:12:in `write': Broken pipe (Errno::EPIPE)", 'EPIPE'],
    ['panic: write: syscall.ECONNRESET', 'ECONNRESET'],
  ] as const) {
    assert.equal((await ex(line)).errno, errno, line);
  }
  assert.equal((await ex('{error,econnrefused}')).context, 'socket');
});

test('syscall and program context: nginx, OpenSSH, a server EPIPE on write, a gluster lookup callback', async () => {
  const ng = await ex(
    '2024/01/02 03:04:05 [error] 12#12: *3 writev() failed (32: Broken pipe) while sending to client',
  );
  assert.equal(ng.errno, 'EPIPE');
  assert.equal(ng.context, 'socket');
  assert.equal(ng.syscall, 'writev');
  assert.equal((await ex('packet_write_wait: Connection to 10.0.0.1 port 22: Broken pipe')).context, 'socket');
  const gl = await ex(
    '[2024-01-01 00:00:00.000000] W [fuse-bridge.c:1271:fuse_attr_cbk] 0-glusterfs-fuse: 7: LOOKUP() /x => -1 (Transport endpoint is not connected)',
  );
  assert.equal(gl.context, 'mount');
});

test('Envoy, HAProxy and nginx phrasing', async () => {
  const e = await ex(
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111',
  );
  assert.equal(e.errno, 'ECONNREFUSED');
  assert.equal(e.reportedNumber, 111);
  assert.equal(e.context, 'socket');
  const t = await ex('upstream connect error or disconnect/reset before headers. reset reason: connection termination');
  assert.equal(t.errno, 'ECONNRESET');
  assert.equal(t.via, 'phrase');
  const h = await ex(
    'haproxy[7]: 10.0.0.1:5000 [01/Jan/2024:00:00:00.000] fe be/s1 0/0/-1/-1/3001 503 212 - - SC-- 1/1/0/0/3 0/0 "GET / HTTP/1.1"',
  );
  assert.equal(h.errno, 'ECONNREFUSED');
  assert.equal(h.confidence, 'low');
  assert.match(h.note ?? '', /server aborted or refused while connecting/);
});

test('lines that only mention an errno are not errors, and the errno is not claimed', async () => {
  for (const line of [
    'Add ECONNRESET to the list of retryable errors',
    'fix(http): retry on EPIPE',
    '- Fixed handling of ENOTCONN from shutdown()',
    'retry_on: ECONNRESET, ETIMEDOUT, EPIPE',
    "    'connect ECONNREFUSED',",
    'if (err.code == ECONNRESET || err.code == EPIPE) {',
  ]) {
    const r = await notError(line);
    assert.match(r.reason, /^not an error report/, line);
    assert.ok(r.mentions, line);
  }
});

test('every answer says what it rests on and how sure it is; a guess from a bare number is low', async () => {
  const r = await ex('Error 111: Connection refused');
  assert.ok(r.restsOn.length > 0);
  assert.ok(['high', 'medium', 'low'].includes(r.confidence));
  const guess = await ex('connection lost, error 54');
  assert.equal(guess.errno, 'ECONNRESET');
  assert.equal(guess.platform, 'darwin');
  assert.equal(guess.confidence, 'low');
});
