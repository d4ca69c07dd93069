import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { loadCatalog } from '../../../src/knowledge/explain.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { loadCorpus, pct, score } from './corpus-score.js';

// The held-out part of the corpus: every fourth line found, split off before any tuning and never
// tuned on. Its score is the honest figure for lines explain has not seen.
let host: NodeHost;
let catalog: ErrnoCatalog;
before(async () => {
  host = new NodeHost();
  catalog = await loadCatalog(host);
});
after(() => host.close());

test('explain --json scores at least 95 % on errno and on context over the held-out corpus', async (t) => {
  const s = await score(host, catalog, loadCorpus('heldout'));
  t.diagnostic(`held-out corpus: ${s.total} lines, errno ${pct(s.errno, s.total)}, context ${pct(s.context, s.total)}`);
  for (const m of s.misses) t.diagnostic(`miss: ${m}`);
  assert.ok(s.errno / s.total >= 0.95, `errno ${pct(s.errno, s.total)}`);
  assert.ok(s.context / s.total >= 0.95, `context ${pct(s.context, s.total)}`);
});
