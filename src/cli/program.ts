// The command definitions, shared by the CLI, `enotconn completion` and `enotconn man`, so --help,
// the completions and the man page are all read from one commander tree and cannot drift.
import { Command, Option } from 'commander';
import { version } from '../runtime/version.js';

// Runs a command body; its number is the exit status.
export type Run = (fn: () => Promise<number>) => Promise<void>;
// Adds one command to the program.
export type Register = (program: Command, run: Run) => void;

// Each command's module is loaded only when that command runs: scan must not pay for loading
// watch's SQLite, metrics and HTTP code (start-up is most of a healthy scan's cost).
export const COMMANDS: Record<string, () => Promise<Register>> = {
  scan: async () => (await import('./scan.js')).registerScan,
  diagnose: async () => (await import('./diagnose.js')).registerDiagnose,
  heal: async () => (await import('./heal.js')).registerHeal,
  watch: async () => (await import('./watch.js')).registerWatch,
  explain: async () => (await import('./explain.js')).registerExplain,
  runbook: async () => (await import('./runbook.js')).registerRunbook,
  lint: async () => (await import('./lint.js')).registerLint,
  lab: async () => (await import('./lab.js')).registerLab,
  completion: async () => (await import('./completion.js')).registerCompletion,
  man: async () => (await import('./man-page.js')).registerMan,
};

// Global options that take a value (the command name is the first argument that is neither).
const VALUED_GLOBALS = new Set(['--proc-root', '--state-dir']);

// One line for a commander message: "error: unknown option '--x'\n(Did you mean --json?)" ->
// "unknown option '--x' (Did you mean --json?)".
export function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/i, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

// The root program with its global options and the CLI's error conventions, but no commands yet.
export function rootProgram(): Command {
  return new Command()
    .name('enotconn')
    .description('Find, explain and heal "Transport endpoint is not connected" on mounts and sockets')
    .version(version(), '-V, --version', 'print the version')
    .option('--debug', 'print stack traces for internal errors')
    .addOption(new Option('--proc-root <dir>', 'read /proc, /sys and /dev/kmsg under DIR (fixtures)').hideHelp())
    .addOption(new Option('--state-dir <dir>', 'state directory (recipes, incidents, audit log)').hideHelp())
    .showHelpAfterError(false)
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Every usage error is one line, `enotconn: ...`, as for the CLI's own errors.
      outputError: (s, write) => write(`enotconn: ${oneLine(s)}\n`),
    })
    .exitOverride();
}

// The command named on the command line: the first argument that is not an option or its value.
export function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (VALUED_GLOBALS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

// Register `names` (every command when undefined) on `program`.
export async function addCommands(program: Command, run: Run, names?: readonly string[]): Promise<Command> {
  for (const name of names ?? Object.keys(COMMANDS)) (await COMMANDS[name]!())(program, run);
  return program;
}

// The full command tree, for completion and the man page (actions are never run).
export async function fullProgram(): Promise<Command> {
  return addCommands(rootProgram(), async () => undefined);
}
