#!/usr/bin/env node
// Bundle enotconn with esbuild, after `tsc` has type-checked:
//   dist/bundle/enotconn.cjs          the npm bin: a small entry (src/cli/bin.ts) that loads one
//                                     file of dist/bundle/commands/ for the command named
//   dist/bundle/commands/<name>.cjs   one self-contained CommonJS file per command (only what that
//                                     command needs), `all.cjs` (help, unknown commands), and the
//                                     child roles (probe-child.cjs, lab-child.cjs); every dependency
//                                     inlined but better-sqlite3
//   dist/sea/enotconn.cjs             the single executable's script: everything inlined (SQLite's
//                                     addon is a SEA asset, see build-sea.mjs)
// The probe worker is bundled first: a file beside the npm bundle, a string inside the SEA script.
// Why one file per command: Node's ESM loader resolves, reads and links each chunk of a split
// bundle on its own, and `scan` loaded ~20 chunks; a single CommonJS file is read and compiled in
// one go, and holds no other command's code.
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
  minifySyntax: true,
  minifyWhitespace: true,
};

const worker = await esbuild.build({
  ...common,
  entryPoints: ['src/host/probe-worker.ts'],
  write: false,
  minify: true,
});
const probeWorker = worker.outputFiles[0].text;

// The banner runs before any module: it tells runtime/bundle.ts what this file is.
function banner(sea) {
  return [
    'globalThis.__enotconnBundle ??= (() => {',
    sea
      ? "  const isSea = (() => { try { return require('node:sea').isSea(); } catch { return false; } })();"
      : '  const isSea = false;',
    sea ? '  const file = isSea ? process.execPath : __filename;' : '  const file = __filename;',
    `  return { file, sea: isSea, version: ${JSON.stringify(pkg.version)},`,
    sea
      ? `    probeWorker: { code: ${JSON.stringify(probeWorker)} } };`
      : "    probeWorker: { file: require('node:path').join(require('node:path').dirname(file), 'probe-worker.cjs') } };",
    '})();',
  ].join('\n');
}

// The commands and the module and export of each, read from the registry itself (commands.ts),
// so a new command needs no change here.
const registry = fs.readFileSync(path.join(root, 'src/cli/commands.ts'), 'utf8');
const commands = [
  ...registry.matchAll(/^ {2}(\w+): async \(\) => \(await import\('\.\/([\w-]+)\.js'\)\)\.(\w+),$/gm),
].map(([, name, file, fn]) => ({ name, file, fn }));
if (commands.length < 10) throw new Error(`bundle.mjs: found ${commands.length} commands in src/cli/commands.ts`);

// Each command's file: the CLI with that one command registered.
const entries = {
  all: "import { main } from './run-cli.js'; import { COMMANDS } from './commands.js';\nexport function run(argv) { return main(argv, COMMANDS); }",
  ...Object.fromEntries(
    commands.map(({ name, file, fn }) => [
      name,
      `import { main } from './run-cli.js'; import { ${fn} } from './${file}.js';\n` +
        `export function run(argv) { return main(argv, { ${JSON.stringify(name)}: async () => ${fn} }); }`,
    ]),
  ),
};
const virtualEntries = {
  name: 'enotconn-command-entries',
  setup(build) {
    build.onResolve({ filter: /^enotconn-entry:/ }, (a) => ({ path: a.path.slice(15), namespace: 'enotconn-entry' }));
    build.onLoad({ filter: /.*/, namespace: 'enotconn-entry' }, (a) => ({
      contents: entries[a.path],
      resolveDir: path.join(root, 'src/cli'),
      loader: 'ts',
    }));
  },
};

// Modules a command loads with import() only on a rare path, kept out of its file and loaded
// from a file of their own: recording recipes (SQLite; scan records only when its daemons
// changed) and the config parser (zod and yaml; heal reads the config only when it exists). A
// command that imports one statically (watch) carries it inline as usual, never twice.
const LAZY = { 'src/mounts/heal/record.ts': 'record', 'src/watch/config.ts': 'watch-config' };

const cjsCommon = {
  ...common,
  external: ['better-sqlite3'],
  // Computed when first read: turning a path into a URL costs a cold start a few ms.
  define: { 'import.meta.url': '__enotconnMeta.url' },
  banner: {
    js: "const __enotconnMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };",
  },
};
const commandEntries = {
  ...Object.fromEntries(Object.keys(entries).map((n) => [n, `enotconn-entry:${n}`])),
  'probe-child': 'src/host/probe-child.ts',
  'lab-child': 'src/sockets/lab/child.ts',
};

// The lazy modules an entry's file carries anyway: those some module of it imports statically (a
// first pass that inlines everything, nothing written).
async function carriedLazy(name, entry) {
  const r = await esbuild.build({
    ...cjsCommon,
    entryPoints: { [name]: entry },
    outdir: 'dist/bundle/commands',
    plugins: [virtualEntries],
    write: false,
    metafile: true,
  });
  const carried = new Set();
  for (const input of Object.values(r.metafile.inputs)) {
    for (const i of input.imports) if (i.kind === 'import-statement' && i.path in LAZY) carried.add(i.path);
  }
  return carried;
}

// Resolve import() of a lazy module to its own file (the resolved path is matched, not the text).
function lazyImports(inline, fromLazyDir) {
  return {
    name: 'enotconn-lazy-imports',
    setup(build) {
      build.onResolve({ filter: /\.js$/ }, async (a) => {
        if (a.kind !== 'dynamic-import' || a.pluginData === 'lazy') return undefined;
        const r = await build.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, pluginData: 'lazy' });
        const rel = path.relative(root, r.path);
        if (!(rel in LAZY) || inline.has(rel)) return undefined;
        return { path: `${fromLazyDir ? '.' : './lazy'}/${LAZY[rel]}.cjs`, external: true };
      });
    },
  };
}

fs.rmSync(path.join(root, 'dist/bundle'), { recursive: true, force: true });
// The npm bin's entry: one small CommonJS file. Why not ESM (the package's "type"): an .mjs entry
// starts Node's ESM loader, and `enotconn --version` spent ~5 ms more there than as CommonJS.
await esbuild.build({
  ...cjsCommon,
  external: [],
  entryPoints: { enotconn: 'src/cli/bin.ts' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.cjs' },
  define: { ...cjsCommon.define, ENOTCONN_SPLIT: 'true' },
  banner: { js: [cjsCommon.banner.js, banner(false)].join('\n') },
});
// The per-command files, the child roles and the lazy modules, CommonJS: import.meta.url is each
// file's own URL.
for (const [name, entry] of Object.entries(commandEntries)) {
  await esbuild.build({
    ...cjsCommon,
    entryPoints: { [name]: entry },
    outdir: 'dist/bundle/commands',
    outExtension: { '.js': '.cjs' },
    plugins: [virtualEntries, lazyImports(await carriedLazy(name, entry), false)],
  });
}
for (const [file, name] of Object.entries(LAZY)) {
  await esbuild.build({
    ...cjsCommon,
    entryPoints: { [name]: file },
    outdir: 'dist/bundle/commands/lazy',
    outExtension: { '.js': '.cjs' },
    plugins: [lazyImports(new Set([file]), true)],
  });
}
// A lazy file is CommonJS: import() would load it through the ESM loader, which first scans the
// whole file for its exports (cjs-module-lexer, ~5 ms for the recorder); require() only compiles it.
for (const dir of ['dist/bundle/commands', 'dist/bundle/commands/lazy']) {
  for (const f of fs.readdirSync(path.join(root, dir)).filter((n) => n.endsWith('.cjs'))) {
    const file = path.join(root, dir, f);
    const text = fs.readFileSync(file, 'utf8');
    const out = text.replace(/\bimport\(("\.\/(?:lazy\/)?[\w-]+\.cjs")\)/g, 'Promise.resolve().then(()=>require($1))');
    if (out !== text) fs.writeFileSync(file, out);
  }
}
fs.writeFileSync(path.join(root, 'dist/bundle/probe-worker.cjs'), probeWorker);
// The entry keeps its shebang (esbuild keeps the one in bin.ts) and must be executable.
fs.chmodSync(path.join(root, 'dist/bundle/enotconn.cjs'), 0o755);

// The single executable's script: one CommonJS file (node:sea runs CommonJS only).
await esbuild.build({
  ...common,
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/sea/enotconn.cjs',
  define: { ENOTCONN_SPLIT: 'false' },
  banner: { js: banner(true) },
});
process.stdout.write(
  `bundle.mjs: dist/bundle/enotconn.cjs, dist/bundle/commands/ (${commands.length} commands) and dist/sea/enotconn.cjs (enotconn ${pkg.version})\n`,
);
