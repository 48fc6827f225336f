/**
 * AWS's own access logs, the ones that land in S3 by themselves, to access_logs rows: Application
 * Load Balancer access logs and CloudFront standard logs (W3C). The mapping of each field to our
 * columns is in the README (section db); decisions for odd values are next to the code making them.
 *
 *   alb:        type time elb client:port target:port request_processing_time target_processing_time
 *               response_processing_time elb_status_code target_status_code received_bytes sent_bytes
 *               "request" "user_agent" ... (further fields ignored: AWS adds new ones at the end)
 *   cloudfront: tab-separated, with `#Version:` and `#Fields:` header lines naming the columns
 */

import { normaliseIpAddress } from '../lambda/ip-address.js';
import {
  clip,
  dashToNull,
  fail,
  type ParsedLine,
  parseLogTime,
  parseRequest,
  readQuoted,
  TEXT_FIELD_MAX,
  unescapeLogField,
} from './access-log-format.js';
import type { AccessLogRow } from './access-log-row.js';

/** Connection types an ALB writes (http, https, h2, grpcs, ws, wss; room for later ones). */
const ALB_TYPE_RE = /^[a-z][a-z0-9]{0,9}$/;
const ALB_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const SECONDS_RE = /^\d+(\.\d+)?$/;
const STATUS_RE = /^\d{3}$/;
const BYTES_RE = /^\d+$/;
const NOT_ALB = 'not an ALB access-log line (expected "type time elb client:port ...")';
/** The space-separated fields before the quoted request. */
const ALB_BARE_FIELDS = 12;

/** `ip:port` as an ALB writes it: IPv6 without brackets, so the port is after the last colon. */
function albClientIp(field: string): string | undefined {
  const colon = field.lastIndexOf(':');
  if (colon <= 0 || !/^\d{1,5}$/.test(field.slice(colon + 1))) return undefined;
  return normaliseIpAddress(field.slice(0, colon));
}

/** Status 100..599, or the reason it is not one. */
function statusOf(text: string, what: string): number | string {
  if (text === '-') return `no ${what} (the connection ended before a response was sent)`;
  if (!STATUS_RE.test(text)) return `${what} "${text.slice(0, 20)}" is not a status code`;
  const status = Number(text);
  if (status < 100 || status > 599) return `${what} ${text} out of range 100..599`;
  return status;
}

/**
 * One ALB access-log line. `response_time_ms` is the sum of the three processing times; ALB
 * writes -1 for a time it could not measure (no target answered, the client left), and then the
 * sum means nothing, so it is NULL. ALB logs no referrer.
 */
export function parseAlbLine(line: string): ParsedLine<'alb'> {
  const bare: string[] = [];
  let i = 0;
  for (let k = 0; k < ALB_BARE_FIELDS; k++) {
    const space = line.indexOf(' ', i);
    if (space === -1 && k < 2) return fail(NOT_ALB);
    if (space === -1) return fail('truncated line: fields missing');
    bare.push(line.slice(i, space));
    i = space + 1;
    if (k === 1 && !(ALB_TYPE_RE.test(bare[0] as string) && ALB_TIME_RE.test(bare[1] as string)))
      return fail(NOT_ALB);
  }
  const [, time, , client, , requestTime, targetTime, responseTime, elbStatus, , , sentBytes] = bare as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const timestamp = parseLogTime(time);
  if (timestamp === undefined) return fail(`bad timestamp ${time.slice(0, 40)}`);
  const ip = albClientIp(client);
  if (ip === undefined) return fail(`client "${client.slice(0, 60)}" is not an ip:port`);
  const status = statusOf(elbStatus, 'elb_status_code');
  if (typeof status === 'string') return fail(status);
  if (!BYTES_RE.test(sentBytes)) return fail(`sent_bytes "${sentBytes.slice(0, 20)}" is not a number`);
  const times = [requestTime, targetTime, responseTime];
  let responseMs: number | null = 0;
  for (const t of times) {
    if (t === '-1') responseMs = null;
    else if (!SECONDS_RE.test(t)) return fail(`processing time "${t.slice(0, 20)}" is not a number`);
    else if (responseMs !== null) responseMs += Number(t);
  }
  if (responseMs !== null) responseMs = Math.round(responseMs * 1000);

  if (line[i] !== '"') return fail('no "request" field after sent_bytes');
  const request = readQuoted(line, i);
  if (!request) return fail('truncated line: "request" not closed');
  if (line[request.end] !== ' ' || line[request.end + 1] !== '"')
    return fail('truncated line: "user_agent" field missing');
  const agent = readQuoted(line, request.end + 1);
  if (!agent) return fail('truncated line: "user_agent" not closed');

  const req = parseRequest(unescapeLogField(request.raw));
  const agentText = dashToNull(unescapeLogField(agent.raw));
  const truncated = req.truncated || (agentText?.length ?? 0) > TEXT_FIELD_MAX;
  const row: AccessLogRow = {
    timestamp,
    ip_address: ip,
    method: req.method,
    endpoint: req.endpoint,
    query_string: req.query,
    status_code: status,
    bytes_sent: Number(sentBytes),
    response_time_ms: responseMs,
    referrer: null,
    user_agent: clip(agentText, TEXT_FIELD_MAX),
  };
  return { ok: true, format: 'alb', row, ...(truncated ? { truncated } : {}) };
}

/**
 * The columns of a CloudFront standard log (legacy format), in order: what a file without a
 * `#Fields:` line is read with. A `#Fields:` line replaces it, so logs with fewer, more or
 * reordered fields (standard logging v2 lets the user choose) are read by name.
 */
export const CLOUDFRONT_DEFAULT_FIELDS = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(Referer)',
  'cs(User-Agent)',
  'cs-uri-query',
  'cs(Cookie)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'fle-status',
  'fle-encrypted-fields',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
] as const;

/** Column positions we read; -1 when the file does not have that field. */
interface CloudFrontColumns {
  date: number;
  time: number;
  /** Standard logging v2's epoch seconds (with milliseconds), used when date/time are absent. */
  epoch: number;
  ip: number;
  method: number;
  stem: number;
  query: number;
  status: number;
  bytes: number;
  referrer: number;
  agent: number;
  timeTaken: number;
  /** What is missing for a row, named for the error message; undefined when nothing is. */
  missing: string | undefined;
}

function columnsOf(fields: readonly string[]): CloudFrontColumns {
  const at = (name: string) => fields.findIndex((f) => f.toLowerCase() === name.toLowerCase());
  const c = {
    date: at('date'),
    time: at('time'),
    epoch: at('timestamp'),
    ip: at('c-ip'),
    method: at('cs-method'),
    stem: at('cs-uri-stem'),
    query: at('cs-uri-query'),
    status: at('sc-status'),
    bytes: at('sc-bytes'),
    referrer: at('cs(Referer)'),
    agent: at('cs(User-Agent)'),
    timeTaken: at('time-taken'),
  };
  const missing = [
    ...((c.date === -1 || c.time === -1) && c.epoch === -1 ? ['date and time'] : []),
    ...(c.ip === -1 ? ['c-ip'] : []),
    ...(c.method === -1 ? ['cs-method'] : []),
    ...(c.stem === -1 ? ['cs-uri-stem'] : []),
    ...(c.status === -1 ? ['sc-status'] : []),
  ];
  return { ...c, missing: missing.length > 0 ? missing.join(', ') : undefined };
}

const DEFAULT_COLUMNS = columnsOf(CLOUDFRONT_DEFAULT_FIELDS);

/**
 * CloudFront percent-encodes the user agent and referrer (a space is %20; some values come
 * double-encoded). Decoded once; a malformed sequence is kept as written rather than refused.
 */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TIME_RE = /^\d{2}:\d{2}:\d{2}$/;
const EPOCH_RE = /^\d{9,11}(\.\d{1,3})?$/;

/**
 * A CloudFront standard log, read line by line. Stateful: a `#Fields:` line sets the columns of
 * the lines after it (a file made by concatenating logs may carry several).
 */
export class CloudFrontParser {
  private columns = DEFAULT_COLUMNS;

  /** W3C directives (`#Version:`, `#Fields:`, ...): true when `line` was one (not a row, not an error). */
  directive(line: string): boolean {
    if (!/^#[A-Za-z-]+:/.test(line)) return false;
    const fields = /^#Fields:\s*(.*)$/i.exec(line);
    if (fields) this.columns = columnsOf((fields[1] as string).trim().split(/\s+/));
    return true;
  }

  parse(line: string): ParsedLine<'cloudfront'> {
    if (!line.includes('\t')) return fail('not a CloudFront log line (no tab-separated fields)');
    const c = this.columns;
    if (c.missing) return fail(`the #Fields header lacks ${c.missing}`);
    const f = line.split('\t');
    const get = (index: number) => (index === -1 ? undefined : f[index]);
    if (f.length <= Math.max(c.ip, c.method, c.stem, c.status)) return fail('truncated line: fields missing');

    let timestamp: number | undefined;
    const date = get(c.date);
    const time = get(c.time);
    if (date !== undefined && time !== undefined) {
      if (!DATE_RE.test(date) || !TIME_RE.test(time))
        return fail(`not a CloudFront log line (date "${date.slice(0, 12)}", time "${time.slice(0, 10)}")`);
      timestamp = parseLogTime(`${date}T${time}Z`);
    } else {
      const epoch = get(c.epoch) ?? '';
      if (EPOCH_RE.test(epoch)) timestamp = Math.round(Number(epoch) * 1000);
    }
    if (timestamp === undefined) return fail('bad date/time');

    const ipText = get(c.ip) as string;
    const ip = normaliseIpAddress(ipText);
    if (ip === undefined) return fail(`c-ip "${ipText.slice(0, 60)}" is not an IP address`);
    const statusText = get(c.status) as string;
    if (statusText === '000')
      return fail('sc-status 000 (the viewer closed the connection before CloudFront answered)');
    const status = statusOf(statusText, 'sc-status');
    if (typeof status === 'string') return fail(status);
    const method = get(c.method) as string;
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,15}$/.test(method))
      return fail(`cs-method "${method.slice(0, 20)}" is not a method`);

    const bytesText = get(c.bytes);
    let bytes: number | null = null;
    if (bytesText !== undefined && bytesText !== '-') {
      if (!BYTES_RE.test(bytesText)) return fail(`sc-bytes "${bytesText.slice(0, 20)}" is not a number`);
      bytes = Number(bytesText);
    }
    const taken = get(c.timeTaken);
    let responseMs: number | null = null;
    if (taken !== undefined && taken !== '-') {
      if (!SECONDS_RE.test(taken)) return fail(`time-taken "${taken.slice(0, 20)}" is not a number`);
      responseMs = Math.round(Number(taken) * 1000);
    }
    // The path and query stay as CloudFront logged them (percent-encoded), as Apache and nginx
    // log the request line: one request has one spelling whichever log it came from.
    const req = parseRequest(`${method} ${get(c.stem) as string}${queryPart(get(c.query))} HTTP/1.1`);
    const referrer = dashToNull(percentDecode(get(c.referrer) ?? '-'));
    const agent = dashToNull(percentDecode(get(c.agent) ?? '-'));
    const truncated =
      req.truncated || (referrer?.length ?? 0) > TEXT_FIELD_MAX || (agent?.length ?? 0) > TEXT_FIELD_MAX;
    const row: AccessLogRow = {
      timestamp,
      ip_address: ip,
      method: req.method,
      endpoint: req.endpoint,
      query_string: req.query,
      status_code: status,
      bytes_sent: bytes,
      response_time_ms: responseMs,
      referrer: clip(referrer, TEXT_FIELD_MAX),
      user_agent: clip(agent, TEXT_FIELD_MAX),
    };
    return { ok: true, format: 'cloudfront', row, ...(truncated ? { truncated } : {}) };
  }
}

const queryPart = (query: string | undefined) =>
  query === undefined || query === '-' || query === '' ? '' : `?${query}`;
