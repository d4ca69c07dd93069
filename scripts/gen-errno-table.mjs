// Generates src/knowledge/generated/errno-data.ts: Linux errno names and numbers from the kernel's
// uapi headers (Debian linux-libc-dev), their strerror(3) and gai_strerror(3) texts from glibc, and
// glibc's own translations of those texts from every libc.mo Debian's `locales` package ships.
// Run by a maintainer (node scripts/gen-errno-table.mjs), not by the build: its output is committed,
// so neither the build nor the runtime needs perl, python, gcc or the locale packages.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

const HEADERS = ['/usr/include/asm-generic/errno-base.h', '/usr/include/asm-generic/errno.h'];
const LOCALE_DIR = '/usr/share/locale';
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src/knowledge/generated/errno-data.ts');

// The errnos whose translations are kept: the ones a mount or a socket reports. Every other errno
// keeps only its English text, so the generated file stays small.
const TRANSLATED = [
  'EPERM',
  'ENOENT',
  'EINTR',
  'EIO',
  'ENXIO',
  'EBADF',
  'EAGAIN',
  'ENOMEM',
  'EACCES',
  'EBUSY',
  'EEXIST',
  'ENODEV',
  'ENOTDIR',
  'EISDIR',
  'EINVAL',
  'ENFILE',
  'EMFILE',
  'ENOSPC',
  'EROFS',
  'EPIPE',
  'ENOTEMPTY',
  'ENOTSOCK',
  'EPROTO',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'ENETDOWN',
  'ENETUNREACH',
  'ENETRESET',
  'ECONNABORTED',
  'ECONNRESET',
  'ENOBUFS',
  'EISCONN',
  'ENOTCONN',
  'ESHUTDOWN',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'ESTALE',
  'EREMOTEIO',
  'EDQUOT',
  'ECANCELED',
  'EOPNOTSUPP',
  'ENOSYS',
  'ENOTBLK',
  'EPROTONOSUPPORT',
  'EAFNOSUPPORT',
  'EINPROGRESS',
  'EALREADY',
  'ECOMM',
  'ENOLINK',
  'ENONET',
  'EKEYEXPIRED',
  'ENOKEY',
];

// getaddrinfo's codes (glibc <netdb.h>; they are negative).
const GAI = [
  ['EAI_BADFLAGS', -1],
  ['EAI_NONAME', -2],
  ['EAI_AGAIN', -3],
  ['EAI_FAIL', -4],
  ['EAI_NODATA', -5],
  ['EAI_FAMILY', -6],
  ['EAI_SOCKTYPE', -7],
  ['EAI_SERVICE', -8],
  ['EAI_ADDRFAMILY', -9],
  ['EAI_MEMORY', -10],
  ['EAI_SYSTEM', -11],
  ['EAI_OVERFLOW', -12],
];

function parseHeaders() {
  const numbers = [];
  const aliases = [];
  for (const file of HEADERS) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^#define\s+(E[A-Z0-9]+)\s+(\w+)/.exec(line);
      if (!m) continue;
      if (/^\d+$/.test(m[2])) numbers.push([m[1], Number(m[2])]);
      else aliases.push([m[1], m[2]]);
    }
  }
  return { numbers, aliases };
}

// glibc's C-locale texts, from a throwaway C program (strerror and gai_strerror are libc's own).
function libcTexts(numbers) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-errno-'));
  try {
    const src = path.join(dir, 'e.c');
    const lines = [
      '#include <stdio.h>',
      '#include <string.h>',
      '#include <netdb.h>',
      'int main(void) {',
      ...numbers.map(([, n]) => `  printf("E\\t%d\\t%s\\n", ${n}, strerror(${n}));`),
      ...GAI.map(([, n]) => `  printf("G\\t%d\\t%s\\n", ${n}, gai_strerror(${n}));`),
      '  return 0;',
      '}',
    ];
    fs.writeFileSync(src, lines.join('\n'));
    execFileSync('/usr/bin/gcc', ['-o', path.join(dir, 'e'), src]);
    const out = execFileSync(path.join(dir, 'e'), { env: { LC_ALL: 'C' }, encoding: 'utf8' });
    const errno = new Map();
    const gai = new Map();
    for (const l of out.split('\n')) {
      const [k, n, msg] = l.split('\t');
      if (k === 'E') errno.set(Number(n), msg);
      if (k === 'G') gai.set(Number(n), msg);
    }
    return { errno, gai };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A GNU .mo catalogue (gettext's binary format): magic, revision, count, two offset tables.
function parseMo(buf) {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0x950412de;
  if (!le && buf.readUInt32BE(0) !== 0x950412de) throw new Error('not a .mo file');
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const count = u32(8);
  const origTable = u32(12);
  const transTable = u32(16);
  const raw = [];
  for (let i = 0; i < count; i++) {
    const ol = u32(origTable + i * 8);
    const oo = u32(origTable + i * 8 + 4);
    const tl = u32(transTable + i * 8);
    const to = u32(transTable + i * 8 + 4);
    raw.push([buf.subarray(oo, oo + ol), buf.subarray(to, to + tl)]);
  }
  const header = raw.find(([k]) => k.length === 0);
  const charset = header ? (/charset=([\w-]+)/.exec(header[1].toString('latin1'))?.[1] ?? 'utf-8') : 'utf-8';
  const dec = new util.TextDecoder(charset.toLowerCase());
  const map = new Map();
  for (const [k, v] of raw) {
    if (k.length === 0) continue;
    // Plural entries hold NUL-separated forms; strerror texts have none, so keep the first.
    map.set(k.toString('utf8').split('\0')[0], dec.decode(v).split('\0')[0]);
  }
  return { charset, map };
}

function main() {
  const { numbers, aliases } = parseHeaders();
  const texts = libcTexts(numbers);
  const errnos = numbers.map(([name, n]) => [name, n, texts.errno.get(n) ?? name]);
  const gai = GAI.map(([name, n]) => [name, n, texts.gai.get(n) ?? name]);
  const byName = new Map(errnos.map((e) => [e[0], e]));
  const wanted = [
    ...TRANSLATED.map((n) => byName.get(n)).filter((e) => e !== undefined),
    ...gai.filter(([name]) => ['EAI_NONAME', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_SERVICE'].includes(name)),
  ];
  const locales = fs
    .readdirSync(LOCALE_DIR)
    .filter((l) => fs.existsSync(path.join(LOCALE_DIR, l, 'LC_MESSAGES/libc.mo')))
    .sort();
  const translations = [];
  for (const locale of locales) {
    const { map } = parseMo(fs.readFileSync(path.join(LOCALE_DIR, locale, 'LC_MESSAGES/libc.mo')));
    const messages = [];
    for (const [name, , english] of wanted) {
      const t = map.get(english);
      if (t !== undefined && t !== '' && t !== english) messages.push([name, t]);
    }
    if (messages.length > 0) translations.push([locale, messages]);
  }
  // libuv's wording (what Node prints in err.message), keyed by name; only where it differs from glibc's.
  const uv = [];
  for (const [, [name, msg]] of util.getSystemErrorMap()) {
    const e = byName.get(name);
    if (e && msg.toLowerCase() !== e[2].toLowerCase()) uv.push([name, msg]);
  }
  uv.sort((a, b) => a[0].localeCompare(b[0]));
  const glibc = execFileSync('/usr/bin/ldd', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const q = (s) => JSON.stringify(s);
  const out = [
    '// GENERATED by scripts/gen-errno-table.mjs; do not edit. Regenerate on a Debian host with',
    '// linux-libc-dev, gcc and locales installed: `node scripts/gen-errno-table.mjs && npx prettier --write',
    '// src/knowledge/generated/errno-data.ts`.',
    `// Sources: ${HEADERS.join(', ')}; strerror(3) and gai_strerror(3) of ${glibc.replace(/^ldd /, '')};`,
    `// the libc.mo catalogues under ${LOCALE_DIR} (${translations.length} locales).`,
    '',
    '// [name, Linux number, glibc strerror text in the C locale]',
    'export const LINUX_ERRNOS: ReadonlyArray<readonly [string, number, string]> = [',
    ...errnos.map(([a, b, c]) => `  [${q(a)}, ${b}, ${q(c)}],`),
    '];',
    '',
    '// [alias, the name it stands for] (EWOULDBLOCK is EAGAIN)',
    'export const LINUX_ERRNO_ALIASES: ReadonlyArray<readonly [string, string]> = [',
    ...aliases.map(([a, b]) => `  [${q(a)}, ${q(b)}],`),
    '];',
    '',
    "// [name, glibc's value, gai_strerror text]: getaddrinfo's resolver codes",
    'export const GAI_ERRORS: ReadonlyArray<readonly [string, number, string]> = [',
    ...gai.map(([a, b, c]) => `  [${q(a)}, ${b}, ${q(c)}],`),
    '];',
    '',
    "// [name, libuv's wording] where Node (libuv " + process.versions.uv + ') words an errno differently from glibc',
    'export const LIBUV_MESSAGES: ReadonlyArray<readonly [string, string]> = [',
    ...uv.map(([a, b]) => `  [${q(a)}, ${q(b)}],`),
    '];',
    '',
    '// [locale, [[name, translated text], ...]]: glibc translations of the texts above',
    'export const GLIBC_TRANSLATIONS: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, string]>]> = [',
    ...translations.map(([l, ms]) => `  [${q(l)}, [${ms.map(([n, t]) => `[${q(n)}, ${q(t)}]`).join(', ')}]],`),
    '];',
    '',
  ];
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, out.join('\n'));
  process.stdout.write(
    `wrote ${OUT}: ${errnos.length} errnos, ${aliases.length} aliases, ${gai.length} resolver codes, ${translations.length} locales\n`,
  );
}

main();
