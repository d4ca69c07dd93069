// Shell completion and the man page come from the same commander tree as --help: every command
// and every visible option --help shows is in each, and each script loads in its shell.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fullProgram } from '../../../src/cli/commands.js';
import { requireBinary, tempDir } from '../../helpers/live.js';
import { BUNDLE, runArgv } from '../../helpers/run-argv.js';

const CLI = [process.execPath, BUNDLE];
const BASH = '/usr/bin/bash';

// Every command of --help with the long flags its own --help lists.
async function helpTree(): Promise<Map<string, string[]>> {
  const top = await runArgv([...CLI, '--help']);
  const names = [...top.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const tree = new Map<string, string[]>();
  for (const n of names) {
    const h = await runArgv([...CLI, n, '--help']);
    tree.set(n, [...new Set([...h.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!))]);
  }
  return tree;
}

test('bash: `source <(enotconn completion bash); complete -p enotconn` registers the function', async () => {
  const script = `source <(${CLI.join(' ')} completion bash); complete -p enotconn`;
  const r = await runArgv([BASH, '-c', script]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'complete -F _enotconn enotconn\n');
  assert.equal(r.code, 0);
});

test('bash: completes commands, each command`s options, value words and mountpoints', async () => {
  const ask = async (...words: string[]): Promise<string[]> => {
    const arr = words.map((w) => `'${w}'`).join(' ');
    const script = `source <(${CLI.join(' ')} completion bash); COMP_WORDS=(enotconn ${arr}); COMP_CWORD=${words.length}; _enotconn; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await runArgv([BASH, '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l !== '');
  };
  assert.deepEqual(await ask('di'), ['diagnose']);
  assert.deepEqual(await ask('scan', '--t'), ['--type', '--timeout']);
  assert.deepEqual(await ask('runbook', '--format', ''), ['md', 'json']);
  assert.deepEqual(await ask('watch', '--heal-policy', ''), ['off', 'dry-run', 'on']);
  // Path arguments come from the mount table, never from listing a (possibly hung) directory.
  assert.deepEqual(await ask('diagnose', '/pro'), ['/proc']);
});

test('every command and option of --help is in the bash, zsh and fish completions and the man page', async () => {
  const tree = await helpTree();
  assert.ok(tree.size >= 10, [...tree.keys()].join(' '));
  const program = await fullProgram();
  const { completionScript } = await import('../../../src/cli/completion.js');
  const { manPage } = await import('../../../src/cli/man-page.js');
  const texts = {
    bash: completionScript(program, 'bash'),
    zsh: completionScript(program, 'zsh'),
    fish: completionScript(program, 'fish'),
    man: manPage(program).replace(/\\-/g, '-'),
  };
  for (const [cmd, flags] of tree) {
    for (const [what, text] of Object.entries(texts)) {
      assert.ok(text.includes(cmd), `${what} lacks ${cmd}`);
      for (const f of flags) {
        const needle = what === 'fish' ? `-l ${f.slice(2)}` : f;
        assert.ok(text.includes(needle), `${what} lacks ${cmd} ${f}`);
      }
    }
  }
});

test('zsh and fish load their completion scripts without a syntax error', async (t) => {
  if (!requireBinary(t, 'zsh', 'fish')) return;
  const dir = tempDir(t, 'enc-ship-');
  for (const shell of ['zsh', 'fish'] as const) {
    const file = path.join(dir, `enotconn.${shell}`);
    const r = await runArgv([...CLI, 'completion', shell]);
    assert.equal(r.code, 0);
    fs.writeFileSync(file, r.stdout);
    const check = shell === 'zsh' ? ['/usr/bin/zsh', '-n', file] : ['/usr/bin/fish', '--no-execute', file];
    const c = await runArgv(check);
    assert.equal(c.stderr, '', shell);
    assert.equal(c.code, 0, shell);
  }
});

test('the man page renders with man -l: NAME, every command, exit statuses, no roff warnings', async (t) => {
  if (!requireBinary(t, 'man')) return;
  const dir = tempDir(t, 'enc-ship-');
  const file = path.join(dir, 'enotconn.1');
  const src = await runArgv([...CLI, 'man']);
  assert.equal(src.code, 0);
  fs.writeFileSync(file, src.stdout);
  const r = await runArgv(['/usr/bin/man', '-l', file], {
    env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat', MAN_KEEP_FORMATTING: '' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  // eslint-disable-next-line no-control-regex
  const text = r.stdout.replace(/.\x08/g, '');
  assert.match(text, /^ENOTCONN\(1\)/);
  assert.match(text, /NAME\n\s+enotconn\s+-\s+find,\s+explain\s+and\s+heal/);
  for (const cmd of ['scan', 'diagnose', 'heal', 'watch', 'explain', 'runbook', 'lint', 'lab', 'completion', 'man']) {
    assert.match(text, new RegExp(`^ {3}${cmd} `, 'm'), cmd);
  }
  assert.match(text, /EXIT STATUS\n\s+0\s+all is well/);
  assert.match(text, /--timeout <duration>\n\s+probe timeout per mount \(default: 2s\)/);
});
