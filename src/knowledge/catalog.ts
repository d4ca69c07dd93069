import { allErrnos, errnoByName, glibcMessage, libuvMessage } from './errnos.js';
import { GAI_ERRORS, GLIBC_TRANSLATIONS } from './generated/errno-data.js';
import { DARWIN_ERRNOS, DARWIN_GAI, WSA_CODES, type Platform } from './platforms.js';
import type { LibcErrno } from './strerror.js';

// Every errno explain knows, with each wording it is printed in: glibc's strerror text (what ls,
// Python, nginx and Go print), libuv's (what Node prints), macOS's, the Windows Sockets text, and
// glibc's translations. getaddrinfo's EAI_* codes are entries too (kind 'gai'). Built from the tables
// generated at build time and the hand-kept platform tables; nothing is read from the running system.
export interface CatalogEntry {
  name: string;
  number: number; // Linux (glibc) number; negative for EAI_* codes
  message: string; // glibc's wording in the C locale
  messages: string[]; // every English wording, for matching
  kind: 'errno' | 'gai';
}

// One wording of one errno, as the matcher sees it.
export interface Wording {
  text: string; // normalised (see normaliseText)
  display: string; // as the source words it
  entry: CatalogEntry;
  platform: Platform | 'any';
  locale: string | null; // null for English
  source: 'glibc' | 'libuv' | 'darwin' | 'windows' | 'gai';
  prefix: boolean; // a long message: its first words are enough
}

// Node names EAI_NONAME ENOTFOUND (lib/internal/errors.js dnsException).
const NAME_ALIASES: Readonly<Record<string, string>> = { ENOTFOUND: 'EAI_NONAME' };

export class ErrnoCatalog {
  readonly entries: CatalogEntry[];
  readonly wordings: Wording[];
  private readonly byName = new Map<string, CatalogEntry>();
  private readonly byNumber = new Map<number, CatalogEntry>();
  private readonly byMessage = new Map<string, CatalogEntry>();

  constructor(_libc: readonly LibcErrno[] = []) {
    this.entries = allErrnos().map((e) => {
      const uv = libuvMessage(e.name);
      const glibc = glibcMessage(e.name) ?? e.message;
      return { name: e.name, number: e.number, message: glibc, messages: uv ? [glibc, uv] : [glibc], kind: 'errno' };
    });
    for (const [name, number, message] of GAI_ERRORS) {
      if (message === 'Unknown error') continue;
      this.entries.push({ name, number, message, messages: [message], kind: 'gai' });
    }
    for (const e of this.entries) {
      this.byName.set(e.name, e);
      if (!this.byNumber.has(e.number)) this.byNumber.set(e.number, e);
    }
    // Aliases (EWOULDBLOCK = EAGAIN) resolve to the canonical entry.
    for (const alias of ['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP']) {
      const info = errnoByName(alias);
      const target = info ? this.byNumber.get(info.number) : undefined;
      if (target) this.byName.set(alias, target);
    }
    for (const [alias, name] of Object.entries(NAME_ALIASES)) {
      const target = this.byName.get(name);
      if (target) this.byName.set(alias, target);
    }
    this.wordings = buildWordings(this);
    for (const w of this.wordings) if (!w.prefix && !this.byMessage.has(w.text)) this.byMessage.set(w.text, w.entry);
  }

  // `ENOTCONN`, `enotconn`, `EAI_AGAIN`, `ENOTFOUND` (Node's name for EAI_NONAME).
  name(name: string): CatalogEntry | null {
    return this.byName.get(name.toUpperCase()) ?? null;
  }

  // 107 → ENOTCONN; -3 → EAI_AGAIN (glibc's getaddrinfo numbering).
  number(n: number): CatalogEntry | null {
    return this.byNumber.get(n) ?? null;
  }

  // An exact message in any wording or language, ignoring case, spacing and a trailing period.
  message(text: string): CatalogEntry | null {
    return this.byMessage.get(normaliseText(text)) ?? null;
  }
}

function buildWordings(c: ErrnoCatalog): Wording[] {
  const out: Wording[] = [];
  const add = (name: string, text: string, w: Omit<Wording, 'text' | 'entry' | 'display'>): void => {
    const entry = c.name(name);
    if (!entry) return;
    out.push({ text: normaliseText(text), display: text.trim().replace(/[.。]+$/, ''), entry, ...w });
  };
  const glibcText = new Map<string, string>();
  for (const e of c.entries) {
    glibcText.set(e.name, normaliseText(e.message));
    add(e.name, e.message, {
      platform: e.kind === 'gai' ? 'any' : 'linux',
      locale: null,
      source: e.kind === 'gai' ? 'gai' : 'glibc',
      prefix: false,
    });
    for (const m of e.messages.slice(1))
      add(e.name, m, { platform: 'any', locale: null, source: 'libuv', prefix: false });
  }
  // A glibc text that macOS prints too is no evidence for either platform.
  for (const [name, , message] of DARWIN_ERRNOS) {
    const same = glibcText.get(name) === normaliseText(message);
    if (same) {
      for (const w of out) if (w.entry.name === name && w.source === 'glibc') w.platform = 'any';
    } else add(name, message, { platform: 'darwin', locale: null, source: 'darwin', prefix: false });
  }
  for (const [name, , message] of DARWIN_GAI) {
    if (glibcText.get(name) !== normaliseText(message))
      add(name, message, { platform: 'darwin', locale: null, source: 'darwin', prefix: false });
  }
  for (const w of WSA_CODES) {
    add(w.errno, w.message, { platform: 'windows', locale: null, source: 'windows', prefix: true });
    for (const [locale, text] of Object.entries(w.translations ?? {}))
      add(w.errno, text, { platform: 'windows', locale, source: 'windows', prefix: true });
  }
  for (const [locale, list] of GLIBC_TRANSLATIONS) {
    for (const [name, text] of list)
      add(name, text, { platform: name.startsWith('EAI_') ? 'any' : 'linux', locale, source: 'glibc', prefix: false });
  }
  return out;
}

// Lower case, one kind of apostrophe, single spaces, no trailing period: the form lines and
// wordings are compared in.
export function normaliseText(s: string): string {
  return s
    .toLowerCase()
    .replace(/[’‘`]/g, "'")
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.。]+$/, '');
}

// Text in a script written without spaces between words (Chinese, Japanese): matched with spaces removed.
export function isUnspacedScript(s: string): boolean {
  return /[\u3040-\u30ff\u3400-\u9fff]/.test(s);
}
