import type { Host } from '../host/types.js';
import { allErrnos, glibcMessage } from './errnos.js';

// Errno names, numbers and strerror(3) texts of glibc. They used to be read from perl or python at
// run time; they now come from the table generated at build time (generated/errno-data.ts), so
// explain gives the same answers on an image without either. The Host argument is kept for callers.
export interface LibcErrno {
  name: string;
  number: number;
  message: string;
}

// Every errno glibc names, with its strerror text. Never runs a program.
export function libcErrnos(_host?: Host): Promise<LibcErrno[]> {
  return Promise.resolve(allErrnos().map((e) => ({ ...e, message: glibcMessage(e.name) ?? e.message })));
}
