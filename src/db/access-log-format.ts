/**
 * Apache/Nginx access-log lines (Common and Combined Log Format) to access_logs rows.
 *
 *   common:   host ident user [time] "request" status bytes
 *   combined: common + "referrer" "user-agent"
 *
 * Either may end with extra fields: quoted ones (nginx's "$http_x_forwarded_for") are ignored;
 * a bare number is the response time: with a decimal point it is seconds (nginx $request_time),
 * without one microseconds (Apache %D). Decisions for messy input are in docs/database.md (`db load`)
 * and next to the code that makes them.
 */
import { normaliseIpAddress } from '../lambda/ip-address.js';
import { type AccessLogRow, ENDPOINT_MAX } from './access-log-row.js';

/** The two layouts of this module; src/db/log-formats.ts lists every format `db load` reads. */
export type ClfFormat = 'combined' | 'common';

/** One parsed line: a row (with the layout it had), or why it is not one. */
export type ParsedLine<F extends string = ClfFormat> =
  | { ok: true; row: AccessLogRow; format: F; truncated?: boolean }
  | { ok: false; reason: string };

/** TEXT columns hold 65,535 bytes; 16,000 characters fit even when every one takes 4 bytes in utf8mb4. */
export const TEXT_FIELD_MAX = 16_000;
const METHOD_RE = /^[A-Za-z][A-Za-z0-9_-]{0,15}$/;
const PROTOCOL_RE = /^HTTP\/\d(\.\d)?$/i;
const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const CLF_TIME_RE =
  /^(\d{1,2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: ?([+-])(\d{2}):?(\d{2}))?$/;
const ISO_TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/;

export const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Milliseconds since the epoch from the bracketed time, or undefined when it is not a real moment. */
export function parseLogTime(text: string): number | undefined {
  let year: number;
  let month: number;
  let day: number;
  let hms: [string | undefined, string | undefined, string | undefined];
  let fraction: string | undefined;
  let sign: string | undefined;
  let offH: string | undefined;
  let offM: string | undefined;
  const clf = CLF_TIME_RE.exec(text);
  if (clf) {
    const m = MONTHS[clf[2] as string];
    if (m === undefined) return undefined;
    day = Number(clf[1]);
    month = m;
    year = Number(clf[3]);
    hms = [clf[4], clf[5], clf[6]];
    fraction = clf[7];
    [sign, offH, offM] = [clf[8], clf[9], clf[10]];
  } else {
    const iso = ISO_TIME_RE.exec(text);
    if (!iso) return undefined;
    year = Number(iso[1]);
    month = Number(iso[2]) - 1;
    day = Number(iso[3]);
    hms = [iso[4], iso[5], iso[6]];
    fraction = iso[7];
    [sign, offH, offM] = [iso[9], iso[10], iso[11]];
  }
  const [h, mi, s] = hms.map(Number) as [number, number, number];
  if (h > 23 || mi > 59 || s > 60 || month > 11 || day < 1) return undefined;
  const local = Date.UTC(year, month, day, h, mi, Math.min(s, 59));
  // Date.UTC rolls 31/Feb over into March; a real log never says that, so treat it as corrupt.
  if (new Date(local).getUTCDate() !== day) return undefined;
  const ms = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  // No offset means UTC (nginx's $time_iso8601 always has one; hand-made logs sometimes do not).
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM)) * 60_000 : 0;
  const result = local + ms - offset;
  // DATETIME holds years 1000..9999.
  if (result < Date.UTC(1000, 0, 1) || result >= Date.UTC(10000, 0, 1)) return undefined;
  return result;
}

const SIMPLE_ESCAPES: Record<string, number> = { '"': 34, '\\': 92, n: 10, t: 9, r: 13, v: 11, f: 12, b: 8 };

/**
 * Undo the escaping Apache and nginx apply inside quoted fields: \" and \\ (Apache), \xHH for
 * any byte (both; nginx writes " as \x22), C-style \n \t \r \v \f \b. Bytes are decoded as UTF-8
 * after unescaping, so an escaped multi-byte character comes back whole.
 */
export function unescapeLogField(raw: string): string {
  if (!raw.includes('\\')) return raw;
  const bytes: number[] = [];
  const pushText = (s: string) => {
    for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
  };
  let plainFrom = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) !== 92 /* \ */) continue;
    pushText(raw.slice(plainFrom, i));
    const next = raw[i + 1];
    const simple = next === undefined ? undefined : SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 1;
    } else if (next === 'x' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 2, i + 4))) {
      bytes.push(Number.parseInt(raw.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      // A lone backslash is kept as written.
      bytes.push(92);
    }
    plainFrom = i + 1;
  }
  pushText(raw.slice(plainFrom));
  return Buffer.from(bytes).toString('utf8');
}

/** Read a quoted field starting at `start` (the opening quote). Returns the raw inside and the index after the closing quote. */
export function readQuoted(line: string, start: number): { raw: string; end: number } | undefined {
  for (let i = start + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return { raw: line.slice(start + 1, i), end: i + 1 };
  }
  return undefined;
}

/** `-` or nothing means "not recorded". */
export const dashToNull = (s: string): string | null => (s === '-' || s === '' ? null : s);
export const clip = (s: string | null, max: number): string | null =>
  s !== null && s.length > max ? s.slice(0, max) : s;

export interface RequestParts {
  method: string;
  endpoint: string;
  query: string | null;
  truncated: boolean;
}

/**
 * Split "METHOD target PROTOCOL". A request line that is "-" (nginx: the client sent nothing)
 * or not a request at all (a TLS handshake sent to the HTTP port) still happened and was answered,
 * usually with 400, so the row is kept with method and endpoint "-".
 */
export function parseRequest(request: string): RequestParts {
  const none = { method: '-', endpoint: '-', query: null, truncated: false };
  if (request === '-' || request === '') return none;
  const parts = request.split(' ');
  const method = parts[0] as string;
  if (!METHOD_RE.test(method) || parts.length < 2) return none;
  // Some clients send unencoded spaces in the path: everything between method and protocol is the target.
  const hasProtocol = parts.length >= 3 && PROTOCOL_RE.test(parts[parts.length - 1] as string);
  if (!hasProtocol && parts.length > 2) return none;
  let target = parts.slice(1, hasProtocol ? -1 : undefined).join(' ');
  // Absolute form (proxy requests): keep the path; the scheme and host are not part of the endpoint.
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (absolute) target = target.slice(absolute[0].length) || '/';
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? null : dashToNull(target.slice(q + 1));
  // Paths longer than the column are cut, not refused: the request is real traffic.
  const truncated = path.length > ENDPOINT_MAX || (query?.length ?? 0) > TEXT_FIELD_MAX;
  return {
    method: method.toUpperCase(),
    endpoint: path.length > ENDPOINT_MAX ? path.slice(0, ENDPOINT_MAX) : path || '/',
    query: clip(query, TEXT_FIELD_MAX),
    truncated,
  };
}

/** Response time in whole milliseconds from the optional trailing field (see the module comment). */
function parseResponseTime(token: string): number | null | undefined {
  if (token === '-') return null;
  if (/^\d+\.\d+$/.test(token)) return Math.round(Number(token) * 1000);
  if (/^\d+$/.test(token)) return Math.round(Number(token) / 1000);
  return undefined;
}

/**
 * Parse one log line. `format` 'any' accepts both layouts (and reports which it saw); a fixed
 * format refuses lines of the other layout, which is how `--format` and auto-detection catch a
 * file that changes format half-way.
 *
 * A line with exactly one quoted field after the bytes reads as common plus one extra field, but is
 * far more often a combined line cut after its referrer (a log being written, a broken copy), so it
 * is refused as truncated, unless `formatChosen` says the user named the common format, where an
 * extra quoted field is one of theirs.
 */
export function parseLine(
  line: string,
  format: ClfFormat | 'any' = 'any',
  options: { formatChosen?: boolean } = {},
): ParsedLine {
  // host ident user
  const s1 = line.indexOf(' ');
  if (s1 <= 0) return fail('not an access-log line (no fields)');
  // Host names are refused: the column and the intents deal in addresses.
  const ip = normaliseIpAddress(line.slice(0, s1));
  if (ip === undefined)
    return fail(`client address "${line.slice(0, Math.min(s1, 60))}" is not an IP address`);
  const open = line.indexOf(' [', s1);
  if (open === -1) return fail('no [timestamp] field');
  const close = line.indexOf('] ', open);
  if (close === -1)
    return fail(
      line.indexOf(']', open) === -1 ? 'truncated line: [timestamp] not closed' : 'nothing after [timestamp]',
    );
  const timestamp = parseLogTime(line.slice(open + 2, close));
  if (timestamp === undefined) return fail(`bad timestamp [${line.slice(open + 2, close).slice(0, 40)}]`);

  let i = close + 2;
  if (line[i] !== '"') return fail('no "request" field after the timestamp');
  const request = readQuoted(line, i);
  if (!request) return fail('truncated line: "request" not closed');
  i = request.end;

  const rest = line.slice(i).trimEnd();
  const m = /^ (\d{3}) (\d+|-)(?= |$)/.exec(rest);
  if (!m) {
    if (rest === '' || /^ \d{0,2}$/.test(rest)) return fail('truncated line: status or bytes missing');
    return fail(`bad status/bytes after the request: "${rest.slice(0, 30)}"`);
  }
  const status = Number(m[1]);
  if (status < 100 || status > 599) return fail(`status ${m[1]} out of range 100..599`);
  const bytes = m[2] === '-' ? null : Number(m[2]);
  if (bytes !== null && !Number.isSafeInteger(bytes)) return fail('bytes field too large');

  // Trailing fields: quoted strings and bare tokens.
  const trailing: { quoted: boolean; text: string }[] = [];
  let j = m[0].length;
  while (j < rest.length) {
    if (rest[j] === ' ') {
      j++;
      continue;
    }
    if (rest[j] === '"') {
      const q = readQuoted(rest, j);
      if (!q) return fail('truncated line: quoted field not closed');
      trailing.push({ quoted: true, text: q.raw });
      j = q.end;
    } else {
      const end = rest.indexOf(' ', j);
      trailing.push({ quoted: false, text: rest.slice(j, end === -1 ? rest.length : end) });
      j = end === -1 ? rest.length : end;
    }
  }

  const isCombined = trailing.length >= 2 && trailing[0]?.quoted === true && trailing[1]?.quoted === true;
  const seen: ClfFormat = isCombined ? 'combined' : 'common';
  const cutAfterReferrer = trailing.length === 1 && trailing[0]?.quoted === true;
  if (cutAfterReferrer && !(format === 'common' && options.formatChosen))
    return fail('truncated line: "user-agent" field missing');
  if (format !== 'any' && format !== seen) {
    return fail(
      format === 'combined'
        ? 'no "referrer" "user-agent" fields (combined format expected)'
        : 'extra quoted fields (common format expected)',
    );
  }
  const extras = trailing.slice(isCombined ? 2 : 0);
  let responseTime: number | null = null;
  for (const extra of extras) {
    if (extra.quoted) continue;
    const rt = parseResponseTime(extra.text);
    if (rt === undefined) return fail(`unexpected trailing field "${extra.text.slice(0, 30)}"`);
    if (rt !== null && rt > 4_294_967_295) return fail('response time out of range');
    responseTime = rt;
  }

  const req = parseRequest(unescapeLogField(request.raw));
  const referrerRaw = isCombined ? dashToNull(unescapeLogField(trailing[0]?.text ?? '')) : null;
  const agentRaw = isCombined ? dashToNull(unescapeLogField(trailing[1]?.text ?? '')) : null;
  const truncated =
    req.truncated || (referrerRaw?.length ?? 0) > TEXT_FIELD_MAX || (agentRaw?.length ?? 0) > TEXT_FIELD_MAX;
  return {
    ok: true,
    format: seen,
    ...(truncated ? { truncated } : {}),
    row: {
      timestamp,
      ip_address: ip,
      method: req.method,
      endpoint: req.endpoint,
      query_string: req.query,
      status_code: status,
      bytes_sent: bytes,
      response_time_ms: responseTime,
      referrer: clip(referrerRaw, TEXT_FIELD_MAX),
      user_agent: clip(agentRaw, TEXT_FIELD_MAX),
    },
  };
}

const MONTH_NAMES = Object.keys(MONTHS);
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** Escape a value for a quoted log field the way Apache does. */
export function escapeLogField(value: string | null): string {
  if (value === null) return '-';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be escaped
  return value.replace(/["\\\x00-\x1f\x7f]/g, (c) =>
    c === '"' ? '\\"' : c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * A row as a Combined Log Format line (time in UTC, whole seconds), with the response time as
 * nginx's trailing $request_time when `withResponseTime` is set. Used to write test fixtures and
 * benchmark input.
 */
export function formatCombinedLine(row: AccessLogRow, options: { withResponseTime?: boolean } = {}): string {
  const d = new Date(row.timestamp);
  const time = `${pad2(d.getUTCDate())}/${MONTH_NAMES[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
  const target = row.query_string === null ? row.endpoint : `${row.endpoint}?${row.query_string}`;
  const request = row.method === '-' ? '-' : `${row.method} ${target} HTTP/1.1`;
  const rt =
    options.withResponseTime && row.response_time_ms !== null
      ? ` ${(row.response_time_ms / 1000).toFixed(3)}`
      : '';
  return `${row.ip_address} - - [${time}] "${escapeLogField(request)}" ${row.status_code} ${row.bytes_sent ?? '-'} "${escapeLogField(row.referrer)}" "${escapeLogField(row.user_agent)}"${rt}`;
}
