import type { Command } from 'commander';
import { SCENARIOS } from '../sockets/lab/index.js';
import { runLab, type LabReport } from '../sockets/lab/runner.js';
import type { OpResult, ScenarioResult } from '../sockets/lab/types.js';
import { makeContext } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';
import { paint, table, useColour } from './render.js';

interface LabFlags {
  list?: boolean;
  netns?: boolean;
  syscalls?: boolean;
  json?: boolean;
}

// `enotconn lab`: reproduce each socket error for real and compare it with what is documented.
export function registerLab(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('lab')
    .description('reproduce ECONNRESET, EPIPE, ENOTCONN, ETIMEDOUT and EBADF on real sockets')
    .argument('[scenario...]', 'scenarios to run (default: every loopback one; --netns adds the rest)')
    .option('--list', 'list the scenarios')
    .option('--netns', 'also run the scenarios that need network namespaces (root)')
    .option('--syscalls', "trace each scenario with strace and show the kernel's errno per syscall")
    .option('--json', 'print JSON: expected and observed per operation')
    .action((names: string[], flags: LabFlags, cmd: Command) =>
      run(async () => {
        const ctx = makeContext(cmd);
        try {
          if (flags.list) {
            const list = SCENARIOS.map((s) => ({ name: s.name, netns: s.netns, title: s.title }));
            if (flags.json) ctx.out(JSON.stringify({ scenarios: list }, null, 2));
            else
              ctx.out(
                table(
                  ['SCENARIO', 'NEEDS', 'WHAT'],
                  list.map((s) => [s.name, s.netns ? 'netns' : 'loopback', s.title]),
                ),
              );
            return EXIT_OK;
          }
          const colour = useColour();
          const report = await runLab(ctx.host, {
            names,
            netns: Boolean(flags.netns),
            syscalls: Boolean(flags.syscalls),
            ...(flags.json ? {} : { onResult: (r: ScenarioResult) => ctx.out(renderScenario(r, colour)) }),
          });
          if (flags.json) ctx.out(JSON.stringify(report, null, 2));
          else ctx.out(summary(report, colour));
          return report.ok ? EXIT_OK : EXIT_PROBLEM;
        } finally {
          ctx.host.close();
        }
      }),
    );
}

const cell = (event: string, code: string | null, syscall: string | null): string =>
  [event, syscall !== null ? `${syscall}` : null, code].filter((x) => x !== null).join(' ');

// One scenario: a header line and a row per operation (expected, observed, kernel).
export function renderScenario(r: ScenarioResult, colour: boolean): string {
  const mark = r.ok ? paint('ok', 'green', colour) : paint('DIFFERS', 'red', colour);
  const head = `${mark}  ${r.name}${r.netns ? ' (netns)' : ''}: ${r.title} [${r.durationMs}ms]`;
  if (r.error) return `${head}\n  error: ${r.error}\n`;
  const withKernel = r.kernel !== undefined;
  const rows = r.operations.map((o) => [
    o.op,
    cell(o.expected.event, o.expected.code, o.expected.syscall),
    (o.observed
      ? cell(o.observed.event, o.observed.code, o.observed.syscall) +
        (o.observed.detail !== undefined ? ` (${o.observed.detail})` : '')
      : '(not observed)') + (o.ok ? '' : paint('  <- differs', 'red', colour)),
    ...(withKernel ? [kernelCell(o)] : []),
  ]);
  const header = ['  OPERATION', 'EXPECTED', 'NODE REPORTED', ...(withKernel ? ['KERNEL'] : [])];
  const body = table(
    header,
    rows.map((row) => [`  ${row[0]}`, ...row.slice(1)]),
  );
  return `${head}\n${body}\n`;
}

function kernelCell(o: OpResult): string {
  const calls = o.kernel ?? [];
  if (calls.length === 0) return '-';
  return calls.map((k) => `${k.syscall}() ${k.errno}${k.swallowed ? ' (swallowed by Node)' : ''}`).join(', ');
}

function summary(report: LabReport, colour: boolean): string {
  const bad = report.scenarios.filter((s) => !s.ok);
  const line = `${report.scenarios.length - bad.length}/${report.scenarios.length} scenarios as documented (Linux ${report.kernel}, Node ${report.node})`;
  return bad.length === 0 ? line : `${paint(line, 'red', colour)}; differs: ${bad.map((b) => b.name).join(', ')}`;
}
