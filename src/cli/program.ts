// The command definitions, shared by the CLI, `enotconn completion` and `enotconn man`, so --help,
// the completions and the man page are all read from one commander tree and cannot drift.
import { Command, Option } from 'commander';
import { version } from '../runtime/version.js';

// Runs a command body; its number is the exit status.
export type Run = (fn: () => Promise<number>) => Promise<void>;
// Adds one command to the program.
export type Register = (program: Command, run: Run) => void;

// Commands by name, each loaded on demand (commands.ts lists them all).
export type CommandRegistry = Partial<Record<string, () => Promise<Register>>>;

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

// Register `names` (every command of `registry` when undefined) on `program`.
export async function addCommands(
  program: Command,
  run: Run,
  registry: CommandRegistry,
  names?: readonly string[],
): Promise<Command> {
  for (const name of names ?? Object.keys(registry)) {
    const load = registry[name];
    if (load) (await load())(program, run);
  }
  return program;
}
