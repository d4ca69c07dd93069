const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const ISO = /^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})([.,]\d+)?(Z|[+-]\d{2}:?\d{2})?/;
const SLASHED = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?/; // nginx error log, Go's log package
const CLF = /\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})\]/; // Apache/nginx access
const SYSLOG = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}:\d{2}:\d{2})\b/; // RFC 3164: no year
const KERNEL = /^\[\s*(\d+\.\d+)\]/; // dmesg: seconds since boot

// The time a log line was written, from its prefix: ISO 8601 when the line carries a date, the raw
// text when it does not (syslog's "Nov 14 22:13:20" has no year; dmesg counts from boot). Null
// when the line has no timestamp this recognises.
export function lineTimestamp(line: string): string | null {
  let m = ISO.exec(line);
  if (m) {
    const zone = m[4] === undefined ? '' : m[4] === 'Z' ? 'Z' : m[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
    return `${m[1]}T${m[2]}${m[3] ? m[3].replace(',', '.') : ''}${zone}`;
  }
  m = SLASHED.exec(line);
  if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}${m[5] ?? ''}`;
  m = CLF.exec(line);
  if (m) {
    const month = MONTHS.indexOf(m[2]!) + 1;
    if (month > 0) return `${m[3]}-${String(month).padStart(2, '0')}-${m[1]}T${m[4]}${m[5]}:${m[6]}`;
  }
  m = SYSLOG.exec(line);
  if (m && MONTHS.includes(m[1]!)) return `${m[1]} ${m[2]!.padStart(2, ' ')} ${m[3]}`;
  m = KERNEL.exec(line);
  if (m) return `[${m[1]}]`;
  return null;
}
