// A plain description of the commander tree (commands, their arguments and visible options), read
// by the completion scripts and the man page so both follow --help exactly.
import type { Command, Option } from 'commander';

// One visible option of a command.
export interface OptionSpec {
  long: string; // --timeout
  short: string | null; // -V
  value: string | null; // <duration>, or null for a switch
  description: string;
  defaultValue: string | null;
  choices: readonly string[] | null;
}

// One command: its name, its summary, its argument usage and its options.
export interface CommandSpec {
  name: string;
  description: string;
  usage: string;
  args: ReadonlyArray<{ name: string; description: string; required: boolean; variadic: boolean }>;
  options: readonly OptionSpec[];
}

// Value words for options whose values form a fixed set, where commander has no `choices`.
const VALUE_WORDS: Record<string, readonly string[]> = {
  '--format': ['md', 'json'],
  '--heal-policy': ['off', 'dry-run', 'on'],
  '--log-level': ['error', 'warn', 'info', 'debug'],
};

function optionSpec(o: Option): OptionSpec {
  const value = /[<[][^>\]]*[>\]]/.exec(o.flags)?.[0] ?? null;
  const def = o.defaultValue as unknown;
  return {
    long: o.long ?? o.flags,
    short: o.short ?? null,
    value,
    description: o.description,
    defaultValue: def === undefined || def === false ? null : String(def),
    choices: o.argChoices ?? VALUE_WORDS[o.long ?? ''] ?? null,
  };
}

// The visible options of `cmd`, help flag last.
export function optionsOf(cmd: Command): OptionSpec[] {
  const visible = cmd.options.filter((o) => !o.hidden).map(optionSpec);
  return [
    ...visible,
    { long: '--help', short: '-h', value: null, description: 'show help', defaultValue: null, choices: null },
  ];
}

// The commands of `program`, in the order --help lists them.
export function commandsOf(program: Command): CommandSpec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    usage: c.usage(),
    args: c.registeredArguments.map((a) => ({
      name: a.name(),
      description: a.description,
      required: a.required,
      variadic: a.variadic,
    })),
    options: optionsOf(c),
  }));
}
