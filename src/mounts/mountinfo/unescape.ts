// The kernel escapes space, tab, newline and backslash in mountinfo paths as \ooo octal
// (fs/proc_namespace.c: seq_path_root(..., " \t\n\\"); mangle() for source and fstype).
// Other bytes, UTF-8 included, are printed raw.

// Turn `\040`-style octal escapes back into bytes; the input and output are latin1 byte strings.
export function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8) & 0xff));
}

// Decode a latin1 byte string as UTF-8 (mountinfo is read as bytes so escapes can be undone first).
export function bytesToUtf8(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

// Escape a path the way the kernel does in mountinfo (for fixtures and property tests).
export function escapeMountinfoPath(p: string): string {
  const bytes = Buffer.from(p, 'utf8').toString('latin1');
  return bytes.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}
