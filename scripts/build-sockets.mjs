#!/usr/bin/env node
// Build @enotconn/sockets (packages/sockets) from the same sources as enotconn/sockets: one ESM
// file bundled by esbuild (prom-client stays a dependency) and tsc's declarations. It needs no
// native build: nothing it reaches imports SQLite. Runs as the package's prepack.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(root, 'packages/sockets');
fs.rmSync(path.join(pkgDir, 'dist'), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/sockets/index.ts'],
  outfile: path.join(pkgDir, 'dist/index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['prom-client'],
  legalComments: 'none',
  logLevel: 'warning',
});
execFileSync(
  process.execPath,
  [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(pkgDir, 'tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkg.version !== rootPkg.version) {
  throw new Error(`build-sockets: @enotconn/sockets is ${pkg.version} but enotconn is ${rootPkg.version}: bump both`);
}
process.stdout.write(`build-sockets: packages/sockets/dist (@enotconn/sockets ${pkg.version})\n`);
