// `enotconn completion bash|zsh|fish`: shell completion generated from the command tree.
// Path arguments complete from the mount table (/proc/self/mountinfo), never by listing a
// directory: a Tab on a hung mount must not hang the shell.
import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';
import { commandsOf, optionsOf, type CommandSpec, type OptionSpec } from './command-tree.js';
import type { Run } from './program.js';

// The shells enotconn writes completion for.
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

// Mountpoints from the mount table, field 5 of mountinfo (proc(5)).
const MOUNTPOINTS_SH = "cut -d' ' -f5 /proc/self/mountinfo 2>/dev/null";

function pathArg(c: CommandSpec): boolean {
  return c.args.some((a) => /path|target/.test(a.name));
}

function valueKind(o: OptionSpec): 'file' | 'dir' | 'words' | 'none' | 'any' {
  if (o.value === null) return 'none';
  if (o.choices) return 'words';
  if (/file/.test(o.value)) return 'file';
  if (/dir/.test(o.value)) return 'dir';
  return 'any';
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// The bash completion script.
export function bashCompletion(program: Command): string {
  const cmds = commandsOf(program);
  const globals = optionsOf(program).map((o) => o.long);
  const lines: string[] = [
    '# bash completion for enotconn, from `enotconn completion bash`',
    '_enotconn() {',
    '  local cur prev cmd i',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  cmd=""',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "${COMP_WORDS[i]}" in',
    '      --proc-root|--state-dir) ((i++)) ;;',
    '      -*) ;;',
    '      *) cmd="${COMP_WORDS[i]}"; break ;;',
    '    esac',
    '  done',
    '  case "$cmd" in',
    `    "") COMPREPLY=($(compgen -W ${sq([...cmds.map((c) => c.name), ...globals].join(' '))} -- "$cur")); return ;;`,
  ];
  for (const c of cmds) {
    lines.push(`    ${c.name})`);
    lines.push('      case "$prev" in');
    for (const o of c.options) {
      const k = valueKind(o);
      if (k === 'none') continue;
      const what =
        k === 'words'
          ? `compgen -W ${sq(o.choices!.join(' '))} -- "$cur"`
          : k === 'file'
            ? 'compgen -f -- "$cur"'
            : k === 'dir'
              ? 'compgen -d -- "$cur"'
              : null;
      lines.push(`        ${o.long}) ${what ? `COMPREPLY=($(${what}))` : 'COMPREPLY=()'}; return ;;`);
    }
    lines.push('      esac');
    const opts = c.options.map((o) => o.long).join(' ');
    const words = pathArg(c) ? `$(${MOUNTPOINTS_SH})` : '';
    lines.push(
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W ${sq(opts)} -- "$cur")); else COMPREPLY=($(compgen -W "${words}" -- "$cur")); fi`,
    );
    lines.push('      ;;');
  }
  lines.push('  esac', '}', 'complete -F _enotconn enotconn', '');
  return lines.join('\n');
}

function zq(s: string): string {
  return s.replace(/[[\]:'\\]/g, (c) => `\\${c}`);
}

// The zsh completion script (a #compdef function).
export function zshCompletion(program: Command): string {
  const cmds = commandsOf(program);
  const lines: string[] = [
    '#compdef enotconn',
    '# zsh completion for enotconn, from `enotconn completion zsh`',
    '_enotconn_mounts() { local -a mps; mps=(${(f)"$(' + MOUNTPOINTS_SH + ')"}); _describe mountpoint mps; }',
    '_enotconn() {',
    '  local -a commands',
    '  commands=(',
    ...cmds.map((c) => `    '${zq(c.name)}:${zq(c.description).replace(/'/g, "'\\''")}'`),
    '  )',
    '  if (( CURRENT == 2 )); then _describe command commands; return; fi',
    '  case "${words[2]}" in',
  ];
  for (const c of cmds) {
    const specs = c.options.map((o) => {
      const k = valueKind(o);
      const action =
        k === 'none'
          ? ''
          : k === 'words'
            ? `:value:(${o.choices!.join(' ')})`
            : k === 'file'
              ? ':file:_files'
              : k === 'dir'
                ? ':directory:_files -/'
                : `:${o.value!.replace(/[<>[\]]/g, '')}:`;
      return `'${o.long}[${zq(o.description).replace(/'/g, "'\\''")}]${action}'`;
    });
    if (pathArg(c)) specs.push("'*:mountpoint:_enotconn_mounts'");
    lines.push(`    ${c.name}) shift words; (( CURRENT-- )); _arguments ${specs.join(' ')} ;;`);
  }
  lines.push('  esac', '}', 'compdef _enotconn enotconn', '');
  return lines.join('\n');
}

function fq(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// The fish completion script.
export function fishCompletion(program: Command): string {
  const cmds = commandsOf(program);
  const names = cmds.map((c) => c.name).join(' ');
  const lines: string[] = [
    '# fish completion for enotconn, from `enotconn completion fish`',
    'complete -c enotconn -f',
  ];
  for (const c of cmds) {
    lines.push(
      `complete -c enotconn -n 'not __fish_seen_subcommand_from ${names}' -a ${c.name} -d ${fq(c.description)}`,
    );
  }
  for (const c of cmds) {
    const cond = `'__fish_seen_subcommand_from ${c.name}'`;
    for (const o of c.options) {
      const k = valueKind(o);
      const extra =
        k === 'none'
          ? ''
          : k === 'words'
            ? ` -x -a ${fq(o.choices!.join(' '))}`
            : k === 'file' || k === 'dir'
              ? ' -r -F'
              : ' -x';
      lines.push(`complete -c enotconn -n ${cond} -l ${o.long.replace(/^--/, '')}${extra} -d ${fq(o.description)}`);
    }
    if (pathArg(c)) lines.push(`complete -c enotconn -n ${cond} -a '(${MOUNTPOINTS_SH})'`);
  }
  lines.push('');
  return lines.join('\n');
}

// The completion script for `shell`.
export function completionScript(program: Command, shell: string): string {
  if (shell === 'bash') return bashCompletion(program);
  if (shell === 'zsh') return zshCompletion(program);
  if (shell === 'fish') return fishCompletion(program);
  throw new EnotconnError('ENC_USAGE', `completion: unknown shell '${shell}': use bash, zsh or fish`);
}

// `enotconn completion <shell>`.
export function registerCompletion(program: Command, run: Run): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(enotconn completion bash)')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) =>
      run(async () => {
        const { fullProgram } = await import('./commands.js');
        process.stdout.write(completionScript(await fullProgram(), shell));
        return 0;
      }),
    );
}
