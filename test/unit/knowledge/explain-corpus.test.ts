import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { loadCatalog } from '../../../src/knowledge/explain.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { loadCorpus, pct, score } from './corpus-score.js';

let host: NodeHost;
let catalog: ErrnoCatalog;
before(async () => {
  host = new NodeHost();
  catalog = await loadCatalog(host);
});
after(() => host.close());

const tuning = loadCorpus('tuning');
const heldout = loadCorpus('heldout');

test('the corpus: at least 300 real lines, each with its source URL, across mount, socket and DNS', () => {
  const all = [...tuning, ...heldout];
  assert.ok(all.length >= 300, `${all.length} lines`);
  for (const c of all) assert.match(c.source, /^https:\/\/github\.com\/[^/]+\/[^/]+\/(?:issues|pull)\/\d+$/, c.line);
  const contexts = new Set(all.map((c) => c.context));
  for (const want of ['mount', 'socket', 'dns', 'none']) assert.ok(contexts.has(want), want);
  const locales = new Set(all.map((c) => c.locale).filter((l) => l !== undefined));
  assert.ok(locales.size >= 5, [...locales].join(','));
  const ecosystems = new Set(all.map((c) => c.ecosystem.replace(/-.*$/, '')));
  assert.ok(ecosystems.size >= 10, [...ecosystems].join(','));
  assert.equal(new Set(all.map((c) => c.line)).size, all.length, 'no line twice');
});

test('explain --json scores at least 95 % on errno and on context over the tuning corpus', async (t) => {
  const s = await score(host, catalog, tuning);
  t.diagnostic(`tuning corpus: ${s.total} lines, errno ${pct(s.errno, s.total)}, context ${pct(s.context, s.total)}`);
  for (const m of s.misses) t.diagnostic(`miss: ${m}`);
  assert.ok(s.errno / s.total >= 0.95, `errno ${pct(s.errno, s.total)}\n${s.misses.join('\n')}`);
  assert.ok(s.context / s.total >= 0.95, `context ${pct(s.context, s.total)}\n${s.misses.join('\n')}`);
});
