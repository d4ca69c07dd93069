import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn lab`: not built yet (stub; its issue replaces this file).
export function registerLab(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('lab')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'lab is not built yet in this version'))));
}
