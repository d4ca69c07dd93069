import path from 'node:path';
import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';
import { FixtureHost } from '../host/fixture-host.js';
import { NodeHost } from '../host/node-host.js';
import type { Host } from '../host/types.js';
import { mountContaining } from '../mounts/find-mount.js';
import { DEFAULT_TYPES, readMounts, typeMatches } from '../mounts/scan.js';

// Options every command inherits from the root program.
export interface GlobalOptions {
  procRoot?: string;
  stateDir?: string;
  debug?: boolean;
}

// What a command needs to run: a host and a place to write.
export interface CliContext {
  host: Host;
  out: (text: string) => void;
  err: (text: string) => void;
}

// Build the host for a command: the real one, or a fixture tree with --proc-root.
export function makeHost(cmd: Command): Host {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const dirs = g.stateDir !== undefined ? { stateDir: g.stateDir } : {};
  return g.procRoot !== undefined ? new FixtureHost(g.procRoot, dirs) : new NodeHost(dirs);
}

// A CliContext bound to the process's stdout and stderr.
export function makeContext(cmd: Command): CliContext {
  return {
    host: makeHost(cmd),
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  };
}

// Parse a positive integer flag, or throw a usage error naming the flag.
export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new EnotconnError('ENC_USAGE', `${flag} takes a whole number of at least 1, not '${value}'`);
  }
  return Number(value);
}

// A path argument must name something: a path inside a network or FUSE mount (never touched: that
// mount may be hung, and a stat would block), or a local path that exists. Else a usage error.
export async function requirePathNamesSomething(host: Host, p: string): Promise<void> {
  const abs = path.resolve(p);
  const holder = mountContaining(await readMounts(host), abs);
  if (holder && typeMatches(holder.fstype, DEFAULT_TYPES)) return;
  if (await host.fileExists(abs)) return;
  throw new EnotconnError(
    'ENC_NOT_FOUND',
    `${p}: no such file or directory; give a mountpoint or a path under one ('enotconn scan' lists them)`,
  );
}
