/**
 * Small Go-compatibility helpers used by the Dockerfile front end.
 * In: strings. Out: strings/booleans that behave like Go's `unicode.IsSpace`, `strings.TrimSpace`
 * and `strconv.Quote`, so our dumps and splits byte-match BuildKit's.
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

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote (lone UTF-16 surrogates print as U+FFFD, as Go's decoders produce). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      out += '\ufffd'; // Go sees U+FFFD (the JSON decoder's replacement), which is printable
      continue;
    }
    if (printable.test(ch)) {
      out += ch;
      continue;
    }
    switch (ch) {
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** Error messages are printed on one line: escape CR and LF that came from the input. */
export function oneLine(msg: string): string {
  return msg.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
