// `enotconn man`: the enotconn(1) man page in roff, generated from the same commander tree as
// --help, so the two cannot drift. scripts/build-deb.mjs installs its output.
import type { Command } from 'commander';
import { version } from '../runtime/version.js';
import { commandsOf, optionsOf, type OptionSpec } from './command-tree.js';
import type { Run } from './program.js';

// Escape text for roff (groff_man(7)): backslashes, hyphens in flags, and a leading dot or quote.
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

function optionLines(o: OptionSpec): string[] {
  const flags = [o.short, o.long].filter((f): f is string => f !== null).map((f) => `\\fB${roff(f)}\\fR`);
  const head = `${flags.join(', ')}${o.value ? ` \\fI${roff(o.value)}\\fR` : ''}`;
  const def = o.defaultValue !== null ? ` (default: ${roff(o.defaultValue)})` : '';
  return ['.TP', head, `${roff(o.description)}${def}`];
}

function manDate(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const d = Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date();
  return d.toISOString().slice(0, 10);
}

// The roff source of enotconn(1).
export function manPage(program: Command): string {
  const cmds = commandsOf(program);
  const out: string[] = [
    `.TH ENOTCONN 1 "${manDate()}" "enotconn ${roff(version())}" "User Commands"`,
    '.SH NAME',
    'enotconn \\- find, explain and heal "Transport endpoint is not connected" on mounts and sockets',
    '.SH SYNOPSIS',
    '.B enotconn',
    '[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    roff(
      'enotconn finds dead, hung and stale FUSE, NFS and CIFS mounts without ever hanging, explains ' +
        'what the kernel error means, diagnoses the cause with evidence, and heals the mount the way it ' +
        'was mounted. It also classifies socket errors for Node.js programs.',
    ),
    '.PP',
    roff(
      'Every command accepts --json: JSON goes to stdout with nothing else on it. Durations take a unit: 500ms, 2s, 1m30s.',
    ),
    '.SH GLOBAL OPTIONS',
    ...optionsOf(program).flatMap(optionLines),
    '.SH COMMANDS',
  ];
  for (const c of cmds) {
    out.push(`.SS "${roff(c.name)} ${roff(c.usage)}"`);
    out.push(roff(c.description));
    for (const a of c.args) out.push('.TP', `\\fI${roff(a.name)}\\fR${a.variadic ? '...' : ''}`, roff(a.description));
    for (const o of c.options) out.push(...optionLines(o));
  }
  out.push(
    '.SH EXIT STATUS',
    '.TP',
    '.B 0',
    'all is well, or the action succeeded',
    '.TP',
    '.B 1',
    'a problem was found, or the action failed',
    '.TP',
    '.B 2',
    roff('usage error, bad input or internal error: one line on stderr, starting "enotconn:"'),
    '.SH ENVIRONMENT',
    '.TP',
    '.B NO_COLOR',
    'never colour the output (colour is used only on a terminal anyway)',
    '.TP',
    '.B ENOTCONN_STATE_DIR',
    roff('the state directory (default /var/lib/enotconn for root)'),
    '.SH FILES',
    '.TP',
    '.I /etc/enotconn/config.yaml',
    roff('the config file shared by heal and watch'),
    '.TP',
    '.I /var/lib/enotconn',
    roff('state: recipes, incidents and the audit log (0700, files 0600)'),
    '.SH EXAMPLES',
    '.nf',
    'enotconn scan',
    'enotconn diagnose /mnt/remote',
    'enotconn heal \\-\\-dry\\-run /mnt/remote',
    'enotconn explain "Transport endpoint is not connected"',
    'source <(enotconn completion bash)',
    '.fi',
    '.SH SEE ALSO',
    '.BR fusermount3 (1),',
    '.BR mount (8),',
    '.BR umount (8),',
    '.BR nfs (5)',
    '',
  );
  return out.join('\n');
}

// `enotconn man`: print enotconn(1); read it with `enotconn man | man -l -`.
export function registerMan(program: Command, run: Run): void {
  program
    .command('man')
    .description('print the enotconn(1) man page (roff): enotconn man | man -l -')
    .action(() =>
      run(async () => {
        const { fullProgram } = await import('./commands.js');
        process.stdout.write(manPage(await fullProgram()));
        return 0;
      }),
    );
}
