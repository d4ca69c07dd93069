import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { GAI_ERRORS, GLIBC_TRANSLATIONS, LINUX_ERRNOS } from '../../../src/knowledge/generated/errno-data.js';

// The generated table (scripts/gen-errno-table.mjs) is committed; these checks catch a hand edit or
// a table that drifted from the kernel headers on this machine.

test('the generated table holds the Linux errnos, glibc texts and getaddrinfo codes', () => {
  const byName = new Map(LINUX_ERRNOS.map(([n, num, msg]) => [n, { num, msg }]));
  assert.deepEqual(byName.get('ENOTCONN'), { num: 107, msg: 'Transport endpoint is not connected' });
  assert.deepEqual(byName.get('EHOSTDOWN'), { num: 112, msg: 'Host is down' });
  assert.deepEqual(byName.get('ESTALE'), { num: 116, msg: 'Stale file handle' });
  const gai = new Map(GAI_ERRORS.map(([n, num, msg]) => [n, { num, msg }]));
  assert.deepEqual(gai.get('EAI_AGAIN'), { num: -3, msg: 'Temporary failure in name resolution' });
  assert.deepEqual(gai.get('EAI_NONAME'), { num: -2, msg: 'Name or service not known' });
});

test('the translations cover the locales glibc ships, Chinese ENOTCONN among them', () => {
  assert.ok(GLIBC_TRANSLATIONS.length >= 30, `${GLIBC_TRANSLATIONS.length} locales`);
  const zh = new Map(GLIBC_TRANSLATIONS.find(([l]) => l === 'zh_CN')![1]);
  assert.equal(zh.get('ENOTCONN'), '传输端点尚未连接');
  const de = new Map(GLIBC_TRANSLATIONS.find(([l]) => l === 'de')![1]);
  assert.equal(de.get('ECONNREFUSED'), 'Verbindungsaufbau abgelehnt');
});

test("the table matches this machine's kernel uapi headers, where they are installed", (t) => {
  const files = ['/usr/include/asm-generic/errno-base.h', '/usr/include/asm-generic/errno.h'];
  if (!files.every((f) => fs.existsSync(f))) return t.skip('SKIPPED: linux-libc-dev headers are not installed');
  const want = new Map<string, number>();
  for (const f of files)
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)/gm))
      want.set(m[1]!, Number(m[2]));
  const have = new Map(LINUX_ERRNOS.map(([n, num]) => [n, num]));
  assert.deepEqual(have, want);
});
