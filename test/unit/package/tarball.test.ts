// The npm tarballs, packed from a copy of the sources with no dist/ (as a fresh clone is): prepack
// builds, the tarball ships LICENSE, docs/ and the bundled bin but no source maps, and a scratch
// project that installs it can import it in ESM and in TypeScript (moduleResolution nodenext).
// The socket library's tarball installs with no native build and no SQLite.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO } from '../../helpers/live.js';
import { runArgv } from '../../helpers/run-argv.js';

const NPM = '/usr/bin/npm';
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

let work = '';
let mainTgz = '';
let socketsTgz = '';

async function npm(cwd: string, args: string[]): Promise<string> {
  const r = await runArgv([NPM, ...args], {
    cwd,
    timeoutMs: 600_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(r.code, 0, `npm ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

// npm pack --json's answer (after whatever prepack printed on stdout): the tarball's file name.
function packedName(stdout: string): string {
  const json = stdout.slice(stdout.search(/^\[/m));
  return (JSON.parse(json) as Array<{ filename: string }>)[0]!.filename;
}

// A scratch ESM project in `dir` that installs `tarballs`.
async function scratchProject(dir: string, tarballs: string[], extra: string[] = []): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await npm(dir, ['install', ...NPM_FLAGS, ...extra, ...tarballs]);
}

// Every file under `dir` whose name matches `re`.
function findFiles(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && re.test(e.name)) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

// Type-check `code` as a TypeScript consumer with module/moduleResolution nodenext.
async function typeCheck(dir: string, code: string): Promise<void> {
  fs.writeFileSync(path.join(dir, 'consumer.ts'), code);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [path.join(REPO, 'node_modules/@types')],
      },
      files: ['consumer.ts'],
    }),
  );
  const r = await runArgv([process.execPath, TSC, '-p', dir], { cwd: dir, timeoutMs: 300_000 });
  assert.equal(r.stdout + r.stderr, '', 'tsc --noEmit reports nothing');
  assert.equal(r.code, 0);
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-ship-pack-'));
  // The sources as a fresh clone has them: tracked and new files, no dist/, node_modules linked.
  const src = path.join(work, 'src');
  const files = execFileSync('/usr/bin/git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '' && fs.existsSync(path.join(REPO, f)));
  for (const f of files) {
    if (f.startsWith('test/fixtures/')) continue; // recorded /proc trees (with root -> / links): not built
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    const from = path.join(REPO, f);
    if (fs.lstatSync(from).isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), path.join(src, f));
    else fs.copyFileSync(from, path.join(src, f));
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(src, 'node_modules'));
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  mainTgz = path.join(out, packedName(await npm(src, ['pack', '--json', '--pack-destination', out])));
  const socketsDir = path.join(src, 'packages/sockets');
  socketsTgz = path.join(out, packedName(await npm(socketsDir, ['pack', '--json', '--pack-destination', out])));
});

after(() => {
  if (work !== '') fs.rmSync(work, { recursive: true, force: true });
});

function tarList(tgz: string): string[] {
  return execFileSync('/usr/bin/tar', ['-tzf', tgz], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^package\//, ''));
}

test('enotconn tarball: prepack built it; LICENSE, docs/, the bin and types, no source maps, no tests', () => {
  assert.equal(path.basename(mainTgz), `enotconn-${PKG.version}.tgz`);
  const files = tarList(mainTgz);
  for (const f of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/bundle/enotconn.cjs',
    'dist/bundle/probe-worker.cjs',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/sockets/index.d.ts',
    'docs/commands.md',
    'docs/exit-codes.md',
    'docs/json.md',
    'docs/causes.md',
    'docs/metrics.md',
    'deploy/systemd/enotconn-watch.service',
  ]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.deepEqual(
    files.filter((f) => f.endsWith('.map')),
    [],
  );
  assert.deepEqual(
    files.filter((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.startsWith('dist/sea/')),
    [],
  );
});

test('@enotconn/sockets installs with no native build: no better-sqlite3, no .node file; classify works', async () => {
  const dir = path.join(work, 'sockets-consumer');
  await scratchProject(dir, [socketsTgz]);
  const nm = path.join(dir, 'node_modules');
  assert.ok(fs.existsSync(path.join(nm, '@enotconn/sockets/package.json')));
  for (const native of ['better-sqlite3', 'bindings', 'prebuild-install', 'node-gyp']) {
    assert.equal(fs.existsSync(path.join(nm, native)), false, `${native} is not installed`);
  }
  assert.deepEqual(findFiles(nm, /\.node$/), []);
  // A real refused connect, classified in ESM.
  const code = [
    "import net from 'node:net';",
    "import { classifySocketError } from '@enotconn/sockets';",
    "const srv = net.createServer(); await new Promise((r) => srv.listen(0, '127.0.0.1', r));",
    'const port = srv.address().port; await new Promise((r) => srv.close(r));',
    "const err = await new Promise((r) => net.connect(port, '127.0.0.1').on('error', r));",
    'const c = classifySocketError(err);',
    'console.log(JSON.stringify([c.code, c.syscall, c.kind, c.retryable]));',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'refused.mjs'), code);
  const r = await runArgv([process.execPath, 'refused.mjs'], { cwd: dir });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '["ECONNREFUSED","connect","refused",true]\n');
  await typeCheck(
    dir,
    [
      "import { classifySocketError, guardServer, type SocketErrorClass } from '@enotconn/sockets';",
      "const c: SocketErrorClass = classifySocketError(new Error('x'), { side: 'server' });",
      'const kind: string = c.kind;',
      'export { kind, guardServer };',
    ].join('\n'),
  );
});

test('enotconn from its tarball: ESM import of the library face and enotconn/sockets; the bin runs', async () => {
  const dir = path.join(work, 'main-consumer');
  // --ignore-scripts: the library face loads without SQLite's addon (only watch and recipes open it).
  await scratchProject(dir, [mainTgz], ['--ignore-scripts']);
  const code = [
    "import * as enc from 'enotconn';",
    "import { classifySocketError } from 'enotconn/sockets';",
    "const fns = ['scan', 'diagnose', 'heal', 'explain', 'classify'].map((n) => typeof enc[n]);",
    "const e = await enc.explain('ENOTCONN', { offline: true });",
    "const c = enc.classify(Object.assign(new Error('x'), { code: 'EPIPE', syscall: 'write' }));",
    'console.log(JSON.stringify({ fns, errno: e.errno, number: e.number, kind: c.kind, same: classifySocketError === enc.classifySocketError }));',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'use.mjs'), code);
  const r = await runArgv([process.execPath, 'use.mjs'], { cwd: dir });
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.stdout), {
    fns: ['function', 'function', 'function', 'function', 'function'],
    errno: 'ENOTCONN',
    number: 107,
    kind: 'peer-closed',
    same: true,
  });
  const v = await runArgv([path.join(dir, 'node_modules/.bin/enotconn'), '--version']);
  assert.equal(v.stdout, `${PKG.version}\n`);
});

test('enotconn from its tarball: a TypeScript consumer (nodenext) type-checks against the shipped types', async () => {
  const dir = path.join(work, 'main-consumer');
  await typeCheck(
    dir,
    [
      "import { scan, diagnose, heal, explain, classify, type ScanReport, type Diagnosis, type HealReport } from 'enotconn';",
      "import type { CauseId, SocketErrorClass } from 'enotconn';",
      "import { classifySocketError } from 'enotconn/sockets';",
      'export async function report(): Promise<[ScanReport, Diagnosis, HealReport]> {',
      '  const s = await scan({ all: false, timeoutMs: 2000 });',
      "  const d = await diagnose('/mnt/x', { timeoutMs: 1000 });",
      "  const h = await heal('/mnt/x', { dryRun: true });",
      '  return [s, d, h];',
      '}',
      "export const cause: CauseId = 'daemon-gone';",
      "export const c: SocketErrorClass = classify(new Error('x'));",
      "export const c2: SocketErrorClass = classifySocketError(new Error('x'));",
      "export const e = explain('107');",
    ].join('\n'),
  );
});
