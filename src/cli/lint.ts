import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn lint`: not built yet (stub; its issue replaces this file).
export function registerLint(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('lint')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'lint is not built yet in this version'))));
}
