/**
 * Text from outside (a bad log line, a reason quoting it) made safe to print on a terminal: control
 * characters (C0, DEL, C1: escape sequences that could move the cursor, retitle the window or hide
 * text) and the Unicode marks that reorder or break lines (bidi overrides, U+2028/2029) are shown
 * as escapes instead of being sent raw.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is escaped
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
