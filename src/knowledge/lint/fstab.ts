import { unescapeOctal, bytesToUtf8 } from '../../mounts/mountinfo/unescape.js';

// One fstab(5) entry, with the positions of its fields in the raw line so a fix can change the
// options and keep everything else (spacing, escapes) as written.
export interface FstabEntry {
  line: number; // 1-based
  raw: string;
  spec: string; // unescaped (\040 → space)
  file: string; // the mountpoint, unescaped
  vfstype: string;
  options: string[];
  freq: string | null;
  passno: string | null;
  fields: Array<{ start: number; end: number }>; // in `raw`
  comments: string[]; // the comment lines directly above, without '#'
}

export interface FstabParse {
  entries: FstabEntry[];
  errors: Array<{ line: number; raw: string; message: string }>;
  lines: string[];
}

// Parse fstab text the way libmount does: fields split on blanks, `#` starts a comment line, octal
// escapes (\040 space, \011 tab, \012 newline, \134 backslash) in every field, options split on commas.
export function parseFstab(text: string): FstabParse {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const entries: FstabEntry[] = [];
  const errors: FstabParse['errors'] = [];
  let comments: string[] = [];
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '') {
      comments = [];
      return;
    }
    if (trimmed.startsWith('#')) {
      comments.push(trimmed.replace(/^#+\s?/, ''));
      return;
    }
    const fields: Array<{ start: number; end: number }> = [];
    const re = /[^ \t\r]+/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(raw)) !== null) fields.push({ start: m.index, end: m.index + m[0].length });
    const text = (k: number): string | null => (fields[k] ? raw.slice(fields[k].start, fields[k].end) : null);
    if (fields.length < 3) {
      errors.push({
        line: i + 1,
        raw,
        message: `needs at least 3 fields (spec, mountpoint, type), found ${fields.length}`,
      });
    } else if (fields.length > 6) {
      errors.push({ line: i + 1, raw, message: `has ${fields.length} fields; fstab has 6 (escape spaces as \\040)` });
    } else {
      const opts = text(3);
      entries.push({
        line: i + 1,
        raw,
        spec: decode(text(0)!),
        file: decode(text(1)!),
        vfstype: decode(text(2)!),
        options:
          opts === null
            ? ['defaults']
            : decode(opts)
                .split(',')
                .filter((o) => o !== ''),
        freq: text(4),
        passno: text(5),
        fields,
        comments,
      });
    }
    comments = [];
  });
  return { entries, errors, lines };
}

function decode(field: string): string {
  return bytesToUtf8(unescapeOctal(Buffer.from(field, 'utf8').toString('latin1')));
}

// Escape a value for an fstab field (space, tab, newline, backslash as octal), as libmount expects.
export function escapeFstabField(value: string): string {
  return value.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

// The entry's line with its options replaced; every other byte as it was.
export function withOptions(e: FstabEntry, options: readonly string[]): string {
  const joined = options.map(escapeFstabField).join(',');
  const f = e.fields[3];
  if (!f) return `${e.raw.replace(/\s+$/, '')}\t${joined}`;
  return e.raw.slice(0, f.start) + joined + e.raw.slice(f.end);
}
