#!/usr/bin/env node
// Bundle enotconn with esbuild into one CommonJS file per target, after `tsc` has type-checked:
//   dist/bundle/enotconn.mjs  the npm bin (ESM chunks): every dependency inlined but better-sqlite3
//   dist/sea/enotconn.cjs     the single executable's script: everything inlined (SQLite's addon
//                             is a SEA asset, see build-sea.mjs)
// The probe worker is bundled first: a file beside the npm bundle, a string inside the SEA script.
// Why one file: Node resolves and reads ~300 modules for the unbundled CLI; one file answers
// --version in about the time of `node -e 0` (bench/startup.ts).
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  // import.meta is only read on the tsc build's path (bundleInfo() is null there).
  logOverride: { 'empty-import-meta': 'silent' },
  absWorkingDir: root,
};

const worker = await esbuild.build({
  ...common,
  entryPoints: ['src/host/probe-worker.ts'],
  write: false,
  minify: true,
});
const probeWorker = worker.outputFiles[0].text;

// The banner runs before any module: it tells runtime/bundle.ts what this file is. The npm bundle
// loads the probe worker from its file beside it; the single executable carries it inline.
function banner(sea) {
  return [
    'globalThis.__enotconnBundle ??= (() => {',
    sea
      ? "  const isSea = (() => { try { return require('node:sea').isSea(); } catch { return false; } })();"
      : '  const isSea = false;',
    sea
      ? '  const file = isSea ? process.execPath : __filename;'
      : // Every chunk carries this banner and the first one to run wins: name the entry, not the chunk.
        '  const here = __enotconnPath.dirname(__enotconnUrl.fileURLToPath(import.meta.url));\n' +
        "  const dir = __enotconnPath.basename(here) === 'chunks' ? __enotconnPath.dirname(here) : here;\n" +
        "  const file = __enotconnPath.join(dir, 'enotconn.mjs');",
    `  return { file, sea: isSea, version: ${JSON.stringify(pkg.version)},`,
    sea
      ? `    probeWorker: { code: ${JSON.stringify(probeWorker)} } };`
      : "    probeWorker: { file: __enotconnPath.join(__enotconnPath.dirname(file), 'probe-worker.cjs') } };",
    '})();',
  ].join('\n');
}

// The npm bin: ESM with code splitting, so each command's code is read only when it runs
// (--version compiles a few kilobytes, not the whole program). CommonJS dependencies inside ESM
// need a real `require` for Node's built-ins.
fs.rmSync(path.join(root, 'dist/bundle'), { recursive: true, force: true });
await esbuild.build({
  ...common,
  format: 'esm',
  splitting: true,
  entryPoints: { enotconn: 'src/cli/bin.ts' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  external: ['better-sqlite3'],
  minifySyntax: true,
  minifyWhitespace: true,
  banner: {
    js: [
      "import { createRequire as __enotconnCreateRequire } from 'node:module';",
      "import * as __enotconnUrl from 'node:url';",
      "import * as __enotconnPath from 'node:path';",
      'const require = __enotconnCreateRequire(import.meta.url);',
      banner(false),
    ].join('\n'),
  },
});
fs.writeFileSync(path.join(root, 'dist/bundle/probe-worker.cjs'), probeWorker);
// The entry keeps its shebang (esbuild keeps the one in bin.ts) and must be executable.
fs.chmodSync(path.join(root, 'dist/bundle/enotconn.mjs'), 0o755);

// The single executable's script: one CommonJS file (node:sea runs CommonJS only).
await esbuild.build({
  ...common,
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/sea/enotconn.cjs',
  minifySyntax: true,
  minifyWhitespace: true,
  banner: { js: banner(true) },
});
process.stdout.write(`bundle.mjs: dist/bundle/enotconn.mjs and dist/sea/enotconn.cjs (enotconn ${pkg.version})\n`);
