// A systemd unit file (systemd.syntax(7)) with its drop-ins merged: sections, repeated keys,
// an empty assignment resetting a list, backslash line continuations, # and ; comments.
export interface Directive {
  value: string;
  file: string;
  line: number; // 1-based, where the directive starts
  raw: string;
  comments: string[]; // comment lines directly above
}

export interface UnitFile {
  name: string; // "remote.service"
  path: string;
  dropIns: string[]; // paths, in the order applied
  sections: Map<string, Map<string, Directive[]>>;
}

// Parse one unit or drop-in file into `into` (later files override or extend earlier ones).
export function parseUnitText(
  text: string,
  file: string,
  into: UnitFile['sections'] = new Map(),
): UnitFile['sections'] {
  const lines = text.split('\n');
  let section: Map<string, Directive[]> | null = null;
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    // A trailing backslash continues the directive on the next line (comments inside are skipped).
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*[#;]/.test(next)) continue;
      line = `${line.replace(/\\\s*$/, ' ')}${next.trim()}`;
    }
    const trimmed = line.trim();
    if (trimmed === '') {
      comments = [];
      continue;
    }
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) {
      comments.push(trimmed.replace(/^[#;]+\s?/, ''));
      continue;
    }
    const sec = /^\[([^\]]+)\]$/.exec(trimmed);
    if (sec) {
      section = into.get(sec[1]!) ?? new Map<string, Directive[]>();
      into.set(sec[1]!, section);
      comments = [];
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (eq < 1 || !section) {
      comments = [];
      continue;
    }
    const key = trimmed.slice(0, eq).trim();
    const value = trimmed.slice(eq + 1).trim();
    if (value === '')
      section.set(key, []); // an empty assignment resets the list
    else
      section.set(key, [
        ...(section.get(key) ?? []),
        { value, file, line: start + 1, raw: lines.slice(start, i + 1).join('\n'), comments },
      ]);
    comments = [];
  }
  return into;
}

// Every value of `key` in `section`, in order.
export function values(u: UnitFile, section: string, key: string): Directive[] {
  return u.sections.get(section)?.get(key) ?? [];
}

// The effective (last) value of a single-valued directive.
export function last(u: UnitFile, section: string, key: string): Directive | null {
  const v = values(u, section, key);
  return v.length > 0 ? v[v.length - 1]! : null;
}

// Split a command line the way systemd does (systemd.service(5) "Command lines"): leading prefixes
// (- @ : + !) removed, words split on blanks, "double" and 'single' quotes, backslash escapes.
export function splitExec(value: string): { prefixes: string; argv: string[] } {
  const m = /^([-@:+!|]*)(.*)$/s.exec(value.trim())!;
  const argv: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const s = m[2]!;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) argv.push(cur);
  return { prefixes: m[1]!, argv };
}

// Quote one argument for a unit file's command line.
export function quoteExecArg(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, '\\$1')}"`;
}
