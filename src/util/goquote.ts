/**
 * Go's `%q` (strconv.Quote): the ONE quoting helper behind BuildKit's error texts, docker's
 * `--format` `printf "%q"`, container fields and Dockerfile syntax errors. Pure.
 */

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

/** Go's %q for a []string: `["a" "b"]`. */
export function goQuoteList(a: string[]): string {
  return `[${a.map(goQuote).join(' ')}]`;
}
