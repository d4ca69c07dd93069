import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn watch`: not built yet (stub; its issue replaces this file).
export function registerWatch(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('watch')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'watch is not built yet in this version'))));
}
