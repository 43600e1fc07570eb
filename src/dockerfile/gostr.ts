/**
 * Small Go-compatibility helpers used by the Dockerfile front end.
 * In: strings. Out: strings/booleans that behave like Go's `unicode.IsSpace`, `strings.TrimSpace`
 * (Go's `strconv.Quote` is util/goquote.ts), so our dumps and splits byte-match BuildKit's.
 */

/** Go's unicode.IsSpace. */
export function isSpace(ch: string): boolean {
  switch (ch) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case '\u0085':
    case '\u00a0':
      return true;
  }
  const c = ch.codePointAt(0) ?? 0;
  if (c < 0x1680) return false;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

export function trimLeftSpace(s: string): string {
  let i = 0;
  for (const ch of s) {
    if (!isSpace(ch)) break;
    i += ch.length;
  }
  return s.slice(i);
}

export function trimRightSpace(s: string): string {
  let end = s.length;
  while (end > 0) {
    let ch = s[end - 1]!;
    let w = 1;
    if (end >= 2 && /[\udc00-\udfff]/.test(ch) && /[\ud800-\udbff]/.test(s[end - 2]!)) {
      ch = s.slice(end - 2, end);
      w = 2;
    }
    if (!isSpace(ch)) break;
    end -= w;
  }
  return s.slice(0, end);
}

/** Go's strings.TrimSpace. */
export function trimSpace(s: string): string {
  return trimRightSpace(trimLeftSpace(s));
}

export { goQuote } from '../util/goquote.js';

export { oneLine } from '../util/errors.js';
