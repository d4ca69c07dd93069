#!/usr/bin/env node
// The CLI entry point: the only place that turns results and typed errors into exit statuses.
// First: for scan, the probe engine starts while everything else loads (probe-early.ts).
import '../host/probe-early.js';
import { Command, CommanderError, Option } from 'commander';
import { isEnotconnError } from '../errors.js';
import { EXIT_USAGE } from './exit.js';

const program = new Command();
program
  .name('enotconn')
  .description('Find, explain and heal "Transport endpoint is not connected" on mounts and sockets')
  .version('0.1.0')
  .option('--debug', 'print stack traces for internal errors')
  .addOption(new Option('--proc-root <dir>', 'read /proc, /sys and /dev/kmsg under DIR (fixtures)').hideHelp())
  .addOption(new Option('--state-dir <dir>', 'state directory (recipes, incidents, audit log)').hideHelp())
  .showHelpAfterError(false)
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride();

let exitCode = 0;

// Run a command body: its number is the exit status; a thrown error becomes one line and exit 2.
async function run(fn: () => Promise<number>): Promise<void> {
  try {
    exitCode = await fn();
  } catch (e) {
    exitCode = EXIT_USAGE;
    const debug = program.opts<{ debug?: boolean }>().debug === true;
    if (isEnotconnError(e)) {
      process.stderr.write(`enotconn: ${e.message}\n`);
      if (debug && e.cause) process.stderr.write(`${String((e.cause as Error).stack ?? e.cause)}\n`);
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`enotconn: internal error: ${msg.split('\n')[0]} (rerun with --debug for details)\n`);
      if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    }
  }
}

type Register = (program: Command, run: (fn: () => Promise<number>) => Promise<void>) => void;

// Each command's module is loaded only when that command runs: scan must not pay for loading
// watch's SQLite, metrics and HTTP code (start-up is most of a healthy scan's cost).
const COMMANDS: Record<string, () => Promise<Register>> = {
  scan: async () => (await import('./scan.js')).registerScan,
  diagnose: async () => (await import('./diagnose.js')).registerDiagnose,
  heal: async () => (await import('./heal.js')).registerHeal,
  watch: async () => (await import('./watch.js')).registerWatch,
  explain: async () => (await import('./explain.js')).registerExplain,
  runbook: async () => (await import('./runbook.js')).registerRunbook,
  lint: async () => (await import('./lint.js')).registerLint,
  lab: async () => (await import('./lab.js')).registerLab,
};

// The command named on the command line: the first argument that is not an option or its value.
function commandName(argv: readonly string[]): string | undefined {
  const valued = new Set(['--proc-root', '--state-dir']);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (valued.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

const named = commandName(process.argv);
const chosen = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
for (const name of chosen) (await COMMANDS[name]!())(program, run);

// Exit once stdout has drained. An abandoned probe child never holds the process open.
function finish(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

try {
  await program.parseAsync(process.argv);
  finish(exitCode);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; every usage error exits 2 with commander's one-line message.
    finish(e.exitCode === 0 ? 0 : EXIT_USAGE);
  } else {
    process.stderr.write(`enotconn: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    finish(EXIT_USAGE);
  }
}
