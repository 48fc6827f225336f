import { describe, expect, it } from 'vitest';
import {
  escapeLogField,
  formatCombinedLine,
  parseLine,
  parseLogTime,
  unescapeLogField,
} from '../../src/db/access-log-format.js';
import type { AccessLogRow } from '../../src/db/access-log-row.js';
import { generateTraffic } from '../../src/db/seed.js';

const UA = 'Mozilla/4.08 [en] (Win98; I ;Nav)';
const COMBINED = `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "${UA}"`;

describe('parseLine: good lines', () => {
  it('reads every field of a combined line, time converted to UTC', () => {
    // Act
    const parsed = parseLine(COMBINED);

    // Assess
    expect(parsed).toEqual({
      ok: true,
      format: 'combined',
      row: {
        timestamp: Date.parse('2000-10-10T20:55:36.000Z'),
        ip_address: '127.0.0.1',
        method: 'GET',
        endpoint: '/apache_pb.gif',
        query_string: null,
        status_code: 200,
        bytes_sent: 2326,
        response_time_ms: null,
        referrer: 'http://www.example.com/start.html',
        user_agent: UA,
      },
    });
  });

  it.each<[string, string, Partial<AccessLogRow> & { format?: string }]>([
    [
      'common format',
      '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
      { format: 'common', referrer: null, user_agent: null, bytes_sent: 2326 },
    ],
    [
      'IPv6 client, lower-cased',
      '2001:DB8::1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
      { ip_address: '2001:db8::1' },
    ],
    [
      'bracketed IPv6 client, brackets dropped',
      '[2001:db8::2] - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
      { ip_address: '2001:db8::2' },
    ],
    [
      'longest IPv6 spelling fits the column',
      'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5',
      { ip_address: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255' },
    ],
    [
      'escaped quote inside the request line',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a\\"b?x=\\"1\\" HTTP/1.1" 404 1 "-" "-"',
      { endpoint: '/a"b', query_string: 'x="1"' },
    ],
    [
      'brackets and quotes inside the user agent do not end the field',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x] [y \\" \\"z"',
      { user_agent: 'x] [y " "z' },
    ],
    [
      'IPv4-mapped IPv6 becomes the IPv4 address',
      '::ffff:10.1.2.3 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
      { ip_address: '10.1.2.3' },
    ],
    [
      '"-" bytes, referrer and user agent are null',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "HEAD / HTTP/1.1" 304 - "-" "-"',
      { bytes_sent: null, referrer: null, user_agent: null, method: 'HEAD', status_code: 304 },
    ],
    [
      'empty referrer and user agent are null',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 0 "" ""',
      { bytes_sent: 0, referrer: null, user_agent: null },
    ],
    [
      'Apache escapes \\" and \\\\ in the user agent',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "a \\"quoted\\" \\\\ agent"',
      { user_agent: 'a "quoted" \\ agent' },
    ],
    [
      'nginx \\xHH escapes, UTF-8 reassembled',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "caf\\xC3\\xA9 \\x22bot\\x22"',
      { user_agent: 'café "bot"' },
    ],
    [
      'query string split from the path, without the ?',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /api/search?q=red+shoes&page=2 HTTP/2.0" 200 1 "-" "-"',
      { endpoint: '/api/search', query_string: 'q=red+shoes&page=2' },
    ],
    [
      'empty query string is null',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a? HTTP/1.1" 200 1 "-" "-"',
      { endpoint: '/a', query_string: null },
    ],
    [
      'absolute URI: path kept, scheme and host dropped',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET http://example.com/x/y?z=1 HTTP/1.1" 200 1 "-" "-"',
      { endpoint: '/x/y', query_string: 'z=1' },
    ],
    [
      'absolute URI without a path is /',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET http://example.com HTTP/1.1" 200 1 "-" "-"',
      { endpoint: '/' },
    ],
    [
      'request "-" kept as method and endpoint "-"',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "-" 400 0 "-" "-"',
      { method: '-', endpoint: '-', status_code: 400 },
    ],
    [
      'binary garbage request kept as "-"',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "\\x16\\x03\\x01\\x00\\xF1\\x01" 400 157 "-" "-"',
      { method: '-', endpoint: '-' },
    ],
    [
      'HTTP/0.9 request without protocol',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /old" 200 1',
      { method: 'GET', endpoint: '/old' },
    ],
    [
      'unencoded space inside the path',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /my file.html HTTP/1.1" 404 1 "-" "-"',
      { endpoint: '/my file.html', status_code: 404 },
    ],
    [
      'nginx $request_time (seconds, decimal) after combined',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" 0.123',
      { response_time_ms: 123, user_agent: 'curl/8' },
    ],
    [
      'Apache %D (microseconds, integer) after combined',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" 45210',
      { response_time_ms: 45 },
    ],
    [
      'response time after common',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 2.5',
      { format: 'common', response_time_ms: 2500 },
    ],
    [
      'extra quoted field ($http_x_forwarded_for) ignored, response time still read',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" "203.0.113.9" 0.004',
      { response_time_ms: 4, user_agent: 'curl/8' },
    ],
    [
      'timestamp with positive offset',
      '10.0.0.1 - - [01/Jan/2026:01:30:00 +0530] "GET / HTTP/1.1" 200 1',
      { timestamp: Date.parse('2025-12-31T20:00:00Z') },
    ],
    [
      'timestamp with milliseconds',
      '10.0.0.1 - - [01/Jan/2026:00:00:00.250 +0000] "GET / HTTP/1.1" 200 1',
      { timestamp: Date.parse('2026-01-01T00:00:00.250Z') },
    ],
    [
      'ISO 8601 timestamp (nginx $time_iso8601)',
      '10.0.0.1 - - [2026-03-04T05:06:07-02:00] "GET / HTTP/1.1" 200 1',
      { timestamp: Date.parse('2026-03-04T07:06:07Z') },
    ],
    [
      'method upper-cased',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "get / HTTP/1.1" 200 1',
      { method: 'GET' },
    ],
  ])('%s', (_name, line, expected) => {
    // Act
    const parsed = parseLine(line);

    // Assess
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const { format, ...fields } = expected;
    if (format) expect(parsed.format).toBe(format);
    expect(parsed.row).toMatchObject(fields);
  });

  it('cuts a path longer than the 700-character column and says so', () => {
    // Prepare
    const path = `/${'a'.repeat(1000)}`;

    // Act
    const parsed = parseLine(
      `10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET ${path} HTTP/1.1" 414 0 "-" "-"`,
    );

    // Assess
    expect(parsed).toMatchObject({ ok: true, truncated: true, row: { endpoint: path.slice(0, 700) } });
  });
});

describe('parseLine: bad lines', () => {
  it.each<[string, string, RegExp]>([
    ['empty text', 'garbage', /no fields/],
    [
      'host name instead of address',
      'www.example.com - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1',
      /not an IP/,
    ],
    ['no timestamp', '10.0.0.1 - - "GET / HTTP/1.1" 200 1', /timestamp/],
    ['truncated inside the timestamp', '10.0.0.1 - - [10/Oct/2000:13:5', /not closed/],
    [
      'truncated inside the request',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTT',
      /not closed/,
    ],
    [
      'truncated before the bytes',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 20',
      /truncated/,
    ],
    [
      'truncated inside the user agent',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "Mozilla/5.0 (Win',
      /not closed/,
    ],
    ['impossible date', '10.0.0.1 - - [31/Feb/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1', /bad timestamp/],
    ['unknown month', '10.0.0.1 - - [10/Foo/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1', /bad timestamp/],
    ['status not a number', '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" OK 1', /status/],
    [
      'status out of range',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 999 1',
      /out of range/,
    ],
    [
      'bytes not a number',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 abc',
      /status\/bytes/,
    ],
    [
      'junk after the fields',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 junk',
      /trailing/,
    ],
  ])('%s', (_name, line, reason) => {
    // Act
    const parsed = parseLine(line);

    // Assess
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toMatch(reason);
  });

  it('a combined line cut off after the referrer is a truncated line when combined is expected', () => {
    // Prepare
    const line = '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "https://example.com/"';

    // Act
    const parsed = parseLine(line, 'combined');

    // Assess
    expect(parsed).toEqual({ ok: false, reason: 'truncated line: "user-agent" field missing' });
  });

  it.each<['combined' | 'common', string]>([
    ['combined', '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1'],
    ['common', '10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8"'],
  ])('a fixed format (%s) refuses the other layout', (format, line) => {
    // Act
    const parsed = parseLine(line, format);

    // Assess
    expect(parsed.ok).toBe(false);
    expect(parseLine(line).ok).toBe(true);
  });
});

describe('log time and escaping', () => {
  it.each([
    ['10/Oct/2000:13:55:36 -0700', '2000-10-10T20:55:36.000Z'],
    ['29/Feb/2024:23:59:59 +0000', '2024-02-29T23:59:59.000Z'],
    ['01/Mar/2024:00:30:00 +0100', '2024-02-29T23:30:00.000Z'],
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(new Date(parseLogTime(text) as number).toISOString()).toBe(iso);
  });

  it('unescapes what escapeLogField wrote', () => {
    // Prepare
    const value = 'tab\there "quote" back\\slash café \u0001';

    // Act
    const roundTrip = unescapeLogField(escapeLogField(value));

    // Assess
    expect(roundTrip).toBe(value);
  });

  it('keeps a lone backslash that starts no escape', () => {
    expect(unescapeLogField('a\\qb')).toBe('a\\qb');
  });

  it('formatCombinedLine and parseLine agree on every field of seeded rows', () => {
    // Prepare: synthetic rows, their timestamps cut to whole seconds as the log format keeps them
    const rows = [...generateTraffic({ rows: 300, days: 1, seed: 3, end: new Date('2026-01-01T00:00:00Z') })];

    // Act
    const parsed = rows.map((row) => parseLine(formatCombinedLine(row, { withResponseTime: true })));

    // Assess
    expect(parsed.map((p) => (p.ok ? p.row : p.reason))).toEqual(
      rows.map((row) => ({ ...row, timestamp: Math.floor(row.timestamp / 1000) * 1000 })),
    );
  });
});
