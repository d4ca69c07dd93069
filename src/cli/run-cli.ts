// The CLI itself: the only place that turns results and typed errors into exit statuses. Each
// build passes the commands it carries (commands.ts: all of them; an npm per-command file: one).
// First: for scan, diagnose and heal, the probe engine starts while everything else loads.
import '../host/probe-early.js';
import { CommanderError } from 'commander';
import { isEnotconnError } from '../errors.js';
import { version } from '../runtime/version.js';
import { commandName } from './command-name.js';
import { EXIT_USAGE } from './exit.js';
import { addCommands, rootProgram, type CommandRegistry } from './program.js';

// Exit once stdout has drained. An abandoned probe child never holds the process open.
function finish(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

// Parse `argv` (node, script, args...), run the command, and exit with its status.
export async function main(argv: readonly string[], commands: CommandRegistry): Promise<void> {
  const args = argv.slice(2);
  // --version answers before any command module is loaded (it is what scripts call most often).
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${version()}\n`);
    return finish(0);
  }
  const program = rootProgram();
  let exitCode = 0;
  const run = async (fn: () => Promise<number>): Promise<void> => {
    try {
      exitCode = await fn();
    } catch (e) {
      exitCode = EXIT_USAGE;
      const debug = program.opts<{ debug?: boolean }>().debug === true;
      if (isEnotconnError(e)) {
        process.stderr.write(`enotconn: ${e.message.split('\n')[0]}\n`);
        if (debug && e.cause) process.stderr.write(`${String((e.cause as Error).stack ?? e.cause)}\n`);
      } else {
        const msg = e instanceof Error ? e.message : String(e);
        process.stderr.write(`enotconn: internal error: ${msg.split('\n')[0]} (rerun with --debug for details)\n`);
        if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      }
    }
  };
  try {
    const named = commandName(args);
    await addCommands(program, run, commands, named !== undefined && commands[named] ? [named] : undefined);
    await program.parseAsync([...argv]);
    finish(exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every usage error exits 2 with its one-line message.
      finish(e.exitCode === 0 ? 0 : EXIT_USAGE);
    } else {
      process.stderr.write(`enotconn: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      finish(EXIT_USAGE);
    }
  }
}
