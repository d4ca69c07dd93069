import fs from 'node:fs';
import path from 'node:path';
import type { ErrnoCatalog } from '../../../src/knowledge/catalog.js';
import { explain } from '../../../src/knowledge/explain.js';
import type { Host } from '../../../src/host/types.js';
import { REPO } from '../../helpers/live.js';

// A line of the explain corpus: a real error line (or a line that only mentions an errno, expected
// "none") copied from a public source, with the errno and context a person would give it.
export interface CorpusLine {
  line: string;
  errno: string; // "none": not an error report
  context: string; // "none" with errno "none"
  source: string;
  ecosystem: string;
  locale?: string;
}

export function loadCorpus(name: 'tuning' | 'heldout'): CorpusLine[] {
  return JSON.parse(
    fs.readFileSync(path.join(REPO, 'test/fixtures/explain-corpus', `${name}.json`), 'utf8'),
  ) as CorpusLine[];
}

export interface Score {
  total: number;
  errno: number;
  context: number;
  misses: string[];
}

// explain --offline on every line: how many get the expected errno, and the expected context.
export async function score(host: Host, catalog: ErrnoCatalog, corpus: readonly CorpusLine[]): Promise<Score> {
  let errno = 0;
  let context = 0;
  const misses: string[] = [];
  for (const c of corpus) {
    const r = await explain(host, catalog, c.line, { offline: true });
    const gotErrno = r.recognised ? r.errno : 'none';
    const gotContext = r.recognised ? r.context : 'none';
    if (gotErrno === c.errno) errno++;
    if (gotContext === c.context) context++;
    if (gotErrno !== c.errno || gotContext !== c.context)
      misses.push(`${gotErrno}/${gotContext} (want ${c.errno}/${c.context}): ${c.line} [${c.source}]`);
  }
  return { total: corpus.length, errno, context, misses };
}

export const pct = (n: number, total: number): string => `${((100 * n) / total).toFixed(1)} %`;
