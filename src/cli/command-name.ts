// The command a command line names, found without loading commander or any command's code: the
// bundle's entry uses it to load only that command's file.

// Every command of the CLI, in --help order.
export const COMMAND_NAMES = [
  'scan',
  'diagnose',
  'heal',
  'watch',
  'explain',
  'runbook',
  'lint',
  'lab',
  'completion',
  'man',
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

// Global options that take a value (the command name is the first argument that is neither).
const VALUED_GLOBALS = new Set(['--proc-root', '--state-dir']);

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

// True when `name` is one of the CLI's commands.
export function isCommandName(name: string | undefined): name is CommandName {
  return name !== undefined && (COMMAND_NAMES as readonly string[]).includes(name);
}
