import type { Recognised } from './recognise.js';

// Lines that name an errno without reporting one: a commit subject ("Add ECONNRESET to the
// retryable errors"), a changelog entry, a how-to title, a list of retryable codes in a config or a
// code condition. They are answered "not an error report", and the errno is not claimed.

// Imperative or descriptive verbs that open a commit subject or a changelog entry.
const SUBJECT_VERB =
  /^(?:add|adds|added|fix|fixes|fixed|handle|handles|handled|treat|treats|retry|retries|ignore|ignores|remap|remaps|map|maps|rescue|catch|catches|check|throw|throws|return|returns|always|never|support|supports|avoid|update|bump|revert|merge|make|makes|use|uses|recover|explain|investigate|document|allow|allows|skip|raise|raises|propagate|correctly|properly|deal|translate|convert|report|swallow|suppress|expose|improve|refactor|remove|test|tests|should|calling|how to)\b/i;

// "feat:", "fix(net):", "http_client:", "[STREAM-1006] -", "Subject: [PATCH]", bullets and numbering.
const SUBJECT_PREFIX =
  /^(?:[-*•+]\s+|\d+[.)]\s+|Subject:\s*|\[PATCH[^\]]*\]\s*|\[[A-Z][A-Z0-9]*-\d+\]\s*-?\s*|(?:feat|fix|chore|docs|refactor|perf|test|build|ci|style)(?:\([^)]*\))?!?:\s*|(?:[\p{L}\w./-]+ ){0,2}[\p{L}\w./-]{1,24}:\s+(?=[A-Za-z]))+/u;

// Why `line` only mentions the errno it names, or null when it reports an error.
export function mentionOnly(line: string, r: Recognised): string | null {
  const text = line.trim();
  const body = text.replace(SUBJECT_PREFIX, '');
  const bare = text.replace(/^[-*•+]\s+/, '');
  for (const candidate of [bare, body]) {
    if (SUBJECT_VERB.test(candidate) && !/\bfailed\b|\bcannot\b|\bcan't\b/i.test(candidate.split(/[:(]/)[0] ?? ''))
      return 'it reads as a commit subject, changelog entry or how-to title';
  }
  if (/\bshould (?:return|ignore|reconnect|retry|be|not)\b/i.test(text)) return 'it describes what code should do';
  if (/\bis -?\d+ on (?:Darwin|macOS|Linux|Windows|BSD)\b/i.test(text)) return 'it states a fact about errno numbering';
  // Code: a condition or assignment that compares error codes.
  if (/==|!=|\|\||&&/.test(text) && /\b(?:code|errno|err)\b/.test(text))
    return 'it is a line of code comparing error codes';
  // A config or code list: a quoted string alone, or several errno names and nothing else.
  if (/^['"][^'"]+['"],?$/.test(text) && r.via === 'name' && !r.peer) return 'it is an entry in a list of error codes';
  const names = text.match(/\bE[A-Z]{3,}\b/g) ?? [];
  const rest = text
    .replace(/^[\w.-]+\s*[:=]\s*/, '')
    .replace(/\bE[A-Z_]{3,}\b/g, '')
    .replace(/[\s,;|/[\]()'"`-]+/g, ' ')
    .trim();
  if (names.length >= 2 && r.via === 'name' && /^(?:and|or)?$/i.test(rest)) return 'it is a list of error codes';
  if (/^\[[^\]]+\]\s*-\s*E[A-Z_]+$/.test(text)) return 'it is a heading that names an error code';
  return null;
}
