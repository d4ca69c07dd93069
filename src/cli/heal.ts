import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn heal`: not built yet (stub; its issue replaces this file).
export function registerHeal(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('heal')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'heal is not built yet in this version'))));
}
