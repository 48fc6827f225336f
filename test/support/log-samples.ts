/**
 * Access-log text in each format `db load` reads, written from access_logs rows: fixtures for the
 * parser, loader and ingest tests and input for the benchmarks. The ALB and CloudFront layouts
 * follow AWS's documentation of those logs; every value here is made up.
 */
import { formatCombinedLine } from '../../src/db/access-log-format.js';
import type { AccessLogRow } from '../../src/db/access-log-row.js';
import { CLOUDFRONT_DEFAULT_FIELDS } from '../../src/db/aws-log-formats.js';
import type { LogFormat } from '../../src/db/log-formats.js';

const iso = (ms: number, digits: 3 | 6) => {
  const text = new Date(ms).toISOString();
  return digits === 6 ? text.replace('Z', '000Z') : text;
};

const target = (row: AccessLogRow) =>
  row.query_string === null ? row.endpoint : `${row.endpoint}?${row.query_string}`;
const quoted = (text: string | null) => (text === null ? '-' : text.replace(/["\\]/g, (c) => `\\${c}`));

/** An ALB access-log line for `row` (the response time split over the three processing times). */
export function formatAlbLine(row: AccessLogRow): string {
  const client = row.ip_address.includes(':') ? `${row.ip_address}:40312` : `${row.ip_address}:51234`;
  const seconds =
    row.response_time_ms === null
      ? ['0.001', '-1', '-1']
      : ['0.000', (row.response_time_ms / 1000).toFixed(3), '0.000'];
  const request =
    row.method === '-' ? '- - - ' : `${row.method} https://shop.example.org:443${target(row)} HTTP/1.1`;
  return [
    'https',
    iso(row.timestamp, 6),
    'app/shop-alb/0a1b2c3d4e5f6a7b',
    client,
    row.response_time_ms === null ? '-' : '10.0.1.15:8080',
    ...seconds,
    String(row.status_code),
    row.response_time_ms === null ? '-' : String(row.status_code),
    '311',
    String(row.bytes_sent ?? 0),
    `"${request}"`,
    `"${quoted(row.user_agent)}"`,
    'ECDHE-RSA-AES128-GCM-SHA256',
    'TLSv1.2',
    'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop/0123456789abcdef',
    '"Root=1-65e6f0a2-0123456789abcdef01234567"',
    '"shop.example.org"',
    '"arn:aws:acm:eu-west-1:111122223333:certificate/00000000-1111-2222-3333-444444444444"',
    '1',
    iso(row.timestamp - (row.response_time_ms ?? 1), 6),
    '"forward"',
    '"-"',
    '"-"',
    '"10.0.1.15:8080"',
    `"${row.status_code}"`,
    '"-"',
    '"-"',
    'TID_0123456789abcdef',
  ].join(' ');
}

export const CLOUDFRONT_HEADER = `#Version: 1.0\n#Fields: ${CLOUDFRONT_DEFAULT_FIELDS.join(' ')}`;

/** CloudFront's percent-encoding of the user agent and referrer. */
const cfEncode = (text: string | null) =>
  text === null
    ? '-'
    : encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A CloudFront standard-log line (the default 33 fields) for `row`, without the header lines. */
export function formatCloudFrontLine(row: AccessLogRow): string {
  const when = new Date(row.timestamp).toISOString();
  const values: Record<string, string> = {
    date: when.slice(0, 10),
    time: when.slice(11, 19),
    'x-edge-location': 'FRA56-P1',
    'sc-bytes': String(row.bytes_sent ?? 0),
    'c-ip': row.ip_address,
    'cs-method': row.method,
    'cs(Host)': 'd1234abcdexample.cloudfront.net',
    'cs-uri-stem': row.endpoint,
    'sc-status': String(row.status_code),
    'cs(Referer)': cfEncode(row.referrer),
    'cs(User-Agent)': cfEncode(row.user_agent),
    'cs-uri-query': row.query_string ?? '-',
    'cs(Cookie)': '-',
    'x-edge-result-type': 'Miss',
    'x-edge-request-id': 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZg==',
    'x-host-header': 'static.example.org',
    'cs-protocol': 'https',
    'cs-bytes': '140',
    'time-taken': row.response_time_ms === null ? '-' : (row.response_time_ms / 1000).toFixed(3),
    'x-forwarded-for': '-',
    'ssl-protocol': 'TLSv1.3',
    'ssl-cipher': 'TLS_AES_128_GCM_SHA256',
    'x-edge-response-result-type': 'Miss',
    'cs-protocol-version': 'HTTP/2.0',
    'fle-status': '-',
    'fle-encrypted-fields': '-',
    'c-port': '40312',
    'time-to-first-byte': '0.010',
    'x-edge-detailed-result-type': 'Miss',
    'sc-content-type': 'text/html',
    'sc-content-len': String(row.bytes_sent ?? 0),
    'sc-range-start': '-',
    'sc-range-end': '-',
  };
  return CLOUDFRONT_DEFAULT_FIELDS.map((f) => values[f]).join('\t');
}

/**
 * Rows that every format can carry exactly: whole seconds (CloudFront logs no milliseconds),
 * a real method and path, a response time, no referrer (ALB logs none).
 */
export function portableRow(i: number, base = Date.UTC(2025, 9, 10, 12, 0, 0)): AccessLogRow {
  return {
    timestamp: base + i * 1000,
    ip_address: i % 7 === 3 ? `2001:db8::${(i % 50).toString(16)}` : `198.51.100.${(i % 200) + 1}`,
    method: i % 5 === 0 ? 'POST' : 'GET',
    endpoint: `/api/items/${i % 40}`,
    query_string: i % 3 === 0 ? `page=${i % 9}` : null,
    status_code: i % 17 === 0 ? 404 : i % 29 === 0 ? 503 : 200,
    bytes_sent: 100 + (i % 900),
    response_time_ms: 5 + (i % 300),
    referrer: null,
    user_agent: i % 2 === 0 ? 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0' : 'curl/8.5.0',
  };
}

/** The text of a log holding `rows` in `format` (CloudFront with its two header lines). */
export function logText(format: LogFormat, rows: readonly AccessLogRow[]): string {
  switch (format) {
    case 'combined':
      return `${rows.map((r) => formatCombinedLine(r, { withResponseTime: true })).join('\n')}\n`;
    case 'common':
      return `${rows.map((r) => formatCombinedLine(r).replace(/ "[^"]*" "[^"]*"$/, '')).join('\n')}\n`;
    case 'alb':
      return `${rows.map(formatAlbLine).join('\n')}\n`;
    case 'cloudfront':
      return `${CLOUDFRONT_HEADER}\n${rows.map(formatCloudFrontLine).join('\n')}\n`;
  }
}
