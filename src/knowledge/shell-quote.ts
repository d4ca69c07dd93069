// Quote argv for a POSIX shell, for humans to copy: plain words stay bare, anything else is put in
// single quotes (a ' inside becomes '\''). Display only: enotconn itself never runs a shell.
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

// A whole argv as one copyable command line.
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
