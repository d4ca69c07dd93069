import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn runbook`: not built yet (stub; its issue replaces this file).
export function registerRunbook(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('runbook')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() =>
      run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'runbook is not built yet in this version'))),
    );
}
