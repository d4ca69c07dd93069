#!/usr/bin/env node
// The bundles' entry (scripts/bundle.mjs): the CLI, or a child role when the first argument asks
// for one, so the probe child and the lab child come from the same file (or single executable).
// The npm bundle (ENOTCONN_SPLIT) then loads one file: the named command's own, which carries
// only what that command needs, or `all` for help and unknown commands. Why: Node's ESM loader
// resolves, reads and links each chunk on its own (about 1 ms each), and a scan of ~20 chunks spent
// more there than in compiling them. The single executable carries everything in one script.
// First: for scan, diagnose and heal, the probe engine starts before the command's file is read.
import '../host/probe-early.js';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleInfo } from '../runtime/bundle.js';
import { ROLE_FLAG } from '../runtime/self.js';
import { version } from '../runtime/version.js';
import { commandName, isCommandName } from './command-name.js';

// Set by scripts/bundle.mjs: true for the npm bundle, false for the single executable.
declare const ENOTCONN_SPLIT: boolean;

// One of the npm bundle's files under commands/: a command's run(argv), or a child role (which
// starts when loaded).
interface CommandFile {
  run?: (argv: readonly string[]) => Promise<void>;
}
function load(name: string): CommandFile {
  const dir = path.dirname(bundleInfo()!.file);
  return createRequire(import.meta.url)(path.join(dir, 'commands', `${name}.cjs`)) as CommandFile;
}

const role = process.argv[2]?.startsWith(ROLE_FLAG) ? process.argv[2].slice(ROLE_FLAG.length) : null;
if (role !== null) process.argv.splice(2, 1); // the role's own arguments start at argv[2], as unbundled
if (role === 'probe-child' || role === 'lab-child') {
  if (ENOTCONN_SPLIT) load(role);
  else if (role === 'probe-child') void import('../host/probe-child.js');
  else void import('../sockets/lab/child.js');
} else if (role !== null) {
  process.stderr.write(`enotconn: unknown child role '${role}'\n`);
  process.exitCode = 2;
} else if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  // --version answers before the CLI's code is even read (it is what scripts call most often).
  process.stdout.write(`${version()}\n`);
} else if (ENOTCONN_SPLIT) {
  const named = commandName(process.argv.slice(2));
  void load(isCommandName(named) ? named : 'all').run!(process.argv);
} else {
  void Promise.all([import('./run-cli.js'), import('./commands.js')]).then(([cli, c]) =>
    cli.main(process.argv, c.COMMANDS),
  );
}
