import { Option, type Command } from 'commander';
import { EnotconnError } from '../errors.js';
import { loadCatalog } from '../knowledge/explain.js';
import { errnoRunbook, mountRunbook, runbookMarkdown } from '../knowledge/runbook.js';
import { parseDuration } from '../util/duration.js';
import { makeContext } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';

interface RunbookFlags {
  format: string;
  timeout: string;
  json?: boolean;
}

// `enotconn runbook`: an incident runbook for a mount (from a live diagnose) or for an errno.
export function registerRunbook(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('runbook')
    .description('write an incident runbook (Markdown) for a mount path, or a generic one for an errno')
    .argument('<target>', 'a path under a network or FUSE mount, or an errno (ENOTCONN, 107, a message)')
    .option('--format <fmt>', 'md or json', 'md')
    .option('--timeout <duration>', 'probe timeout', '2s')
    .addOption(new Option('--json', 'same as --format json').conflicts('format'))
    .action((target: string, flags: RunbookFlags, cmd: Command) =>
      run(async () => {
        const format = flags.json ? 'json' : flags.format;
        if (format !== 'md' && format !== 'json')
          throw new EnotconnError('ENC_USAGE', `--format takes md or json, not '${format}'`);
        const timeoutMs = parseDuration(flags.timeout, '--timeout');
        if (target.trim() === '') throw new EnotconnError('ENC_USAGE', 'runbook needs a mount path or an errno');
        const ctx = makeContext(cmd);
        try {
          const isPath = /^[/.~]/.test(target);
          const rb = isPath
            ? await mountRunbook(ctx.host, target, { timeoutMs })
            : errnoRunbook(await loadCatalog(ctx.host), target, ctx.host.now());
          ctx.out(format === 'json' ? JSON.stringify(rb, null, 2) : runbookMarkdown(rb));
          return rb.kind === 'mount' && rb.state !== 'healthy' ? EXIT_PROBLEM : EXIT_OK;
        } finally {
          ctx.host.close();
        }
      }),
    );
}
