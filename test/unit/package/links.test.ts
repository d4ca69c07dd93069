// Every relative link in README.md and docs/ names a file that exists (the tarball ships both).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO } from '../../helpers/live.js';

// Relative links of a Markdown file (code blocks left out) that name no existing file.
function brokenLinks(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const broken: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) continue;
    const target = path.resolve(path.dirname(file), decodeURIComponent(href.split('#')[0]!));
    if (!fs.existsSync(target)) broken.push(href);
  }
  return broken;
}

test('every relative link in docs/*.md exists', () => {
  const docs = fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md'));
  assert.ok(docs.length >= 7, docs.join(' '));
  for (const f of docs) assert.deepEqual(brokenLinks(path.join(REPO, 'docs', f)), [], f);
});

test('every relative link in README.md exists', () => {
  assert.deepEqual(brokenLinks(path.join(REPO, 'README.md')), []);
});
