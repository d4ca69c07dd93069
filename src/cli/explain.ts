import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn explain`: not built yet (stub; its issue replaces this file).
export function registerExplain(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('explain')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() =>
      run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'explain is not built yet in this version'))),
    );
}
