import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { EnotconnError, errnoCode } from '../errors.js';
import { explain, loadCatalog, recogniseInput, type Explanation, type NotRecognised } from '../knowledge/explain.js';
import { scanLog, type LogSummary } from '../knowledge/log-scan.js';
import { parseDuration } from '../util/duration.js';
import { makeContext } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';
import { paint, printable, table, useColour } from './render.js';

interface ExplainFlags {
  json?: boolean;
  offline?: boolean;
  log?: string;
  timeout: string;
}

// `enotconn explain`: from an errno, a message or a log line to its meaning; or a whole log summarised.
export function registerExplain(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('explain')
    .description('explain an errno name, number, message or log line; or summarise a log with --log')
    .argument('[input...]', 'ENOTCONN, 107, "Transport endpoint is not connected", or a whole log line')
    .option('--log <file>', "scan a log file ('-' for stdin) and group what it reports")
    .option('--offline', 'never look at this host: no mount lookup, no diagnose')
    .option('--timeout <duration>', 'probe timeout for the diagnose of a path the line names', '2s')
    .option('--json', 'print JSON (the explain shape in docs/json.md)')
    // A line that begins with "-" (a .NET "---> System.Net..." frame, a bulleted line) is text, not an
    // option; `explain -` reads the line from stdin.
    .allowUnknownOption()
    .action((words: string[], flags: ExplainFlags, cmd: Command) =>
      run(async () => {
        const timeoutMs = parseDuration(flags.timeout, '--timeout');
        if (flags.log !== undefined && words.length > 0) {
          throw new EnotconnError('ENC_USAGE', 'give either a line to explain or --log FILE, not both');
        }
        // "-ENOTCONN" (a kernel-style negative errno) is text; "--jsno" is a mistyped option.
        const typo = words.find((w) => /^--?[A-Za-z][\w-]*$/.test(w) && !/^-E[A-Z0-9_]{2,}$/.test(w));
        if (typo !== undefined)
          throw new EnotconnError(
            'ENC_USAGE',
            `unknown option '${typo}' for explain; to explain text that starts with "-", quote it or put it after --`,
          );
        const ctx = makeContext(cmd);
        try {
          const catalog = await loadCatalog(ctx.host);
          if (flags.log !== undefined) {
            const summary = await scanLog(openLog(flags.log), catalog, flags.log === '-' ? 'stdin' : flags.log);
            ctx.out(flags.json ? JSON.stringify(summary, null, 2) : renderSummary(summary, useColour()));
            return summary.groups.length > 0 ? EXIT_PROBLEM : EXIT_OK;
          }
          const input = words.length === 1 && words[0] === '-' ? await stdinLine(catalog) : words.join(' ');
          if (input.trim() === '') {
            throw new EnotconnError(
              'ENC_USAGE',
              'explain needs an input: an errno (ENOTCONN), a number (107), a message or a log line; or --log FILE',
            );
          }
          const result = await explain(ctx.host, catalog, input, {
            ...(flags.offline ? { offline: true } : {}),
            diagnoseTimeoutMs: timeoutMs,
          });
          ctx.out(flags.json ? JSON.stringify(result, null, 2) : renderExplanation(result, useColour()));
          return result.recognised ? EXIT_OK : EXIT_PROBLEM;
        } finally {
          ctx.host.close();
        }
      }),
    );
}

// The line to explain from stdin: the first line that reports an errno, else the first non-empty one.
async function stdinLine(catalog: Awaited<ReturnType<typeof loadCatalog>>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(c);
    size += c.length;
    if (size > 1 << 20)
      throw new EnotconnError('ENC_BAD_INPUT', 'explain -: stdin is over 1 MiB; use --log - for a log');
  }
  const lines = Buffer.concat(chunks)
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.find((l) => recogniseInput(l, catalog) !== null) ?? lines[0] ?? '';
}

function openLog(file: string): Readable {
  if (file === '-') return process.stdin;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new EnotconnError('ENC_BAD_INPUT', `--log ${file} is a directory; give a log file`);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new EnotconnError('ENC_NOT_FOUND', `--log ${file}: no such file`);
    if (errnoCode(e) === 'EACCES') throw new EnotconnError('ENC_PERMISSION', `--log ${file}: permission denied`);
    throw e;
  }
  return fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
}

// The human report for one explanation.
export function renderExplanation(r: Explanation | NotRecognised, colour: boolean): string {
  if (!r.recognised && r.mentions) {
    return `${paint('not an error report', 'yellow', colour)}: ${printable(r.input)}\n(${r.reason.replace(/^not an error report: /, '')})`;
  }
  if (!r.recognised) {
    return `${paint('not recognised', 'yellow', colour)}: ${printable(r.input)}\n(${r.reason.replace(/^not recognised: /, '')})`;
  }
  const where = [
    r.path ? `path ${printable(r.path)}` : null,
    r.peer ? `peer ${r.peer}` : null,
    r.syscall ? `syscall ${r.syscall}()` : null,
    r.tool ? `printed by ${r.tool}` : null,
  ].filter((x) => x !== null);
  const out = [
    `${paint(r.errno, 'bold', colour)} (${r.errno.startsWith('EAI_') ? 'getaddrinfo code' : 'errno'} ${r.number}): ${r.message}`,
    `Context: ${r.context}${where.length > 0 ? ` (${where.join(', ')})` : ''}`,
    ...(r.note ? [`Note: ${r.note}`] : []),
    `Platform: ${r.platformName}${r.platformCode ? ` (${r.platformCode})` : ''}${r.locale ? `; wording in ${r.locale}` : ''}`,
    `Rests on: ${r.restsOn.join('; ')} (confidence: ${r.confidence})`,
    '',
    r.meaning,
  ];
  if (r.causes.length > 0) out.push('', 'Likely causes:', ...r.causes.map((c) => `  - ${c}`));
  if (r.nextSteps.length > 0) out.push('', 'Next steps:', ...r.nextSteps.map((s, i) => `  ${i + 1}. ${s}`));
  if (r.mount)
    out.push(
      '',
      `On this host: ${printable(r.path ?? '')} lies under ${printable(r.mount.mountpoint)} (${r.mount.fstype})`,
    );
  if (r.diagnosis) {
    const d = r.diagnosis;
    out.push(`Diagnosis: ${d.state}`);
    for (const c of d.causes) out.push(`  - ${c.id} (${Math.round(c.confidence * 100)}%): ${c.summary}`);
    if (d.plan.length > 0)
      out.push(`  plan: ${d.plan.map((s) => s.action).join(' -> ')} (see 'enotconn diagnose ${d.mount.mountpoint}')`);
  }
  if (r.diagnosisError) out.push(`Diagnosis failed: ${r.diagnosisError}`);
  return out.join('\n');
}

// The ranked table for `explain --log`.
export function renderSummary(s: LogSummary, colour: boolean): string {
  const mb = s.bytes / 1e6;
  const footer = `${s.lines} lines (${mb.toFixed(1)} MB) in ${(s.durationMs / 1000).toFixed(2)}s: ${s.matchedLines} error lines in ${s.groups.length} groups`;
  if (s.groups.length === 0) return `No errno errors found in ${s.source}.\n${footer}`;
  const rows = s.groups.map((g, i) => [
    String(i + 1),
    String(g.count),
    paint(g.errno, 'bold', colour),
    g.context,
    printable(g.path ?? g.peer ?? '-'),
    seen(g.first),
    seen(g.last),
  ]);
  return [
    table(['#', 'COUNT', 'ERRNO', 'CONTEXT', 'PATH/PEER', 'FIRST', 'LAST'], rows),
    '',
    footer,
    ...(s.groupsCapped ? ['Note: too many distinct paths or peers; the rest are merged per errno and context.'] : []),
    ...(s.longLines > 0 ? [`Note: ${s.longLines} over-long lines were scanned only in their first 1 MiB.`] : []),
    `Explain a group: enotconn explain '${s.groups[0]!.sample.replace(/'/g, "'\\''")}'`,
  ].join('\n');
}

function seen(s: { line: number; at: string | null }): string {
  return s.at ? `${s.at} (line ${s.line})` : `line ${s.line}`;
}
