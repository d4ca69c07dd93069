#!/usr/bin/env node
// Build dist/enotconn, a single executable for Linux x64 (Node's single-executable applications:
// https://nodejs.org/api/single-executable-applications.html). It is this Node binary with the
// bundled CLI (dist/sea/enotconn.cjs) and SQLite's addon injected as a blob: no Node, no
// node_modules and no compiler needed on the host. The addon is extracted to a private directory
// and loaded with process.dlopen when a command first opens SQLite (src/runtime/sqlite.ts).
// Run after `npm run build` (which bundles): `npm run sea`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/enotconn');
const script = path.join(root, 'dist/sea/enotconn.cjs');
const blob = path.join(root, 'dist/sea/enotconn.blob');
const addon = path.join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
// The sentinel Node's SEA loader looks for (the same string for every Node release with SEA).
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  throw new Error(`build-sea: builds for linux x64 only, not ${process.platform} ${process.arch}`);
}
for (const f of [script, addon]) {
  if (!fs.existsSync(f)) throw new Error(`build-sea: ${path.relative(root, f)} is missing: run npm run build first`);
}
const config = path.join(root, 'dist/sea/sea-config.json');
fs.writeFileSync(
  config,
  JSON.stringify(
    {
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's code cache for the script: start-up skips compiling 1.3 MB of JavaScript.
      useCodeCache: true,
      assets: { 'better_sqlite3.node': addon },
    },
    null,
    2,
  ),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });
fs.rmSync(out, { force: true });
fs.copyFileSync(process.execPath, out);
fs.chmodSync(out, 0o755);
// Strip the copy before injecting (Debian policy 10.1; 15 MB less). --strip-unneeded keeps the
// dynamic symbol table, which the SQLite addon links against (napi_*).
execFileSync('/usr/bin/strip', ['--strip-unneeded', out], { stdio: 'inherit' });
const postject = path.join(root, 'node_modules/postject/dist/cli.js');
execFileSync(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'inherit' });
const mb = (fs.statSync(out).size / 1e6).toFixed(1);
process.stdout.write(`build-sea: dist/enotconn (${mb} MB, Node ${process.version})\n`);
