/**
 * An answer's body in one line of output. A proxy, a load balancer or an emulator can answer with
 * an HTML error page or with anything at all instead of the backend's JSON; showing that raw floods
 * the terminal with markup, so an HTML page is named by its title and other text is cut.
 */
/**
 * Whitespace, control characters (escape sequences could move the cursor or hide text) and the marks
 * that reorder or break lines: each run becomes one space, so the body stays one harmless line.
 * (The client package carries no CLI code, so this is its own, not src/cli/printable.ts.)
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
const BREAKS = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;
const oneLine = (text: string) => text.replace(BREAKS, ' ').trim();

const HTML = /^\s*<(!doctype\s+html|html|head|body)\b/i;

/** The body for a message: JSON or text cut to `max`, an HTML page as `an HTML page titled "…"`. */
export function summarizeBody(text: string, max = 160): string {
  const t = text.trim();
  if (t === '') return 'an empty body';
  if (HTML.test(t)) {
    const title = oneLine(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(t)?.[1] ?? '');
    return `an HTML page${title ? ` titled "${title.slice(0, 80)}"` : ''} (${t.length} bytes) instead of JSON`;
  }
  const line = oneLine(t);
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * Why a body is not the backend's answer, or undefined when it is (a JSON object with a boolean
 * `success`, as every answer of the backend has). `request` is what was sent: an answer equal to it
 * is an echo (an emulator's stand-in function, or a handler that is not this backend's).
 */
export function notBackendAnswer(text: string, request?: unknown): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `it answered ${summarizeBody(text)}`;
  }
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    typeof (parsed as { success?: unknown }).success === 'boolean'
  )
    return undefined;
  if (request !== undefined && JSON.stringify(parsed) === JSON.stringify(request))
    return 'it echoed the request back, so the code answering is not the chatbot backend';
  return `it answered ${summarizeBody(text)}, not the backend's {"success": ...} envelope`;
}
