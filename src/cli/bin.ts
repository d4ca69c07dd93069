#!/usr/bin/env node
// The bundle's entry (scripts/bundle.mjs): the CLI, or a child role when the first argument asks
// for one, so the probe child and the lab child come from the same file (or single executable).
import { bundleInfo } from '../runtime/bundle.js';
import { ROLE_FLAG } from '../runtime/self.js';
import { version } from '../runtime/version.js';

const role = process.argv[2]?.startsWith(ROLE_FLAG) ? process.argv[2].slice(ROLE_FLAG.length) : null;
if (role !== null) process.argv.splice(2, 1); // the role's own arguments start at argv[2], as unbundled
if (role === 'probe-child') void import('../host/probe-child.js');
else if (role === 'lab-child') void import('../sockets/lab/child.js');
// --version answers before the CLI's code is even read (it is what scripts call most often).
else if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  process.stdout.write(`${version()}\n`);
} else if (role !== null) {
  process.stderr.write(`enotconn: unknown child role '${role}'\n`);
  process.exitCode = 2;
} else {
  // The tsc build's main.js runs itself when loaded; only a bundle calls main() from here.
  void import('./main.js').then((m) => (bundleInfo() !== null ? m.main(process.argv) : undefined));
}
