import { describe, expect, it } from 'vitest';
import type { AccessLogRow } from '../../src/db/access-log-row.js';
import { CloudFrontParser, parseAlbLine, percentDecode } from '../../src/db/aws-log-formats.js';
import { createLineParser, FormatDetector, type LogFormat } from '../../src/db/log-formats.js';
import { CLOUDFRONT_HEADER, logText, portableRow } from '../support/log-samples.js';

// Lines written here in the layouts AWS documents (the values are made up).
const ALB_TAIL =
  'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/0123456789abcdef ' +
  '"Root=1-65e6f0a2-0123456789abcdef01234567" "shop.example.org" "-" 0 2024-03-05T10:15:30.077000Z "forward" "-" "-" ' +
  '"10.0.1.15:8080" "200" "-" "-" TID_0123abcd';
const ALB_HTTP =
  'https 2024-03-05T10:15:30.123456Z app/shop-alb/0a1b2c3d4e5f6a7b 198.51.100.23:51234 10.0.1.15:8080 ' +
  '0.001 0.045 0.002 200 200 512 2048 "GET https://shop.example.org:443/cart/items?page=2 HTTP/1.1" ' +
  `"Mozilla/5.0 (X11; Linux x86_64) Firefox/124.0" ${ALB_TAIL}`;

describe('parseAlbLine', () => {
  it('maps an ALB line: time, client without port, path and query out of the absolute URL, summed times', () => {
    // Act
    const parsed = parseAlbLine(ALB_HTTP);

    // Assess
    expect(parsed).toEqual({
      ok: true,
      format: 'alb',
      row: {
        timestamp: Date.parse('2024-03-05T10:15:30.123Z'),
        ip_address: '198.51.100.23',
        method: 'GET',
        endpoint: '/cart/items',
        query_string: 'page=2',
        status_code: 200,
        bytes_sent: 2048,
        response_time_ms: 48,
        referrer: null,
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/124.0',
      },
    });
  });

  it.each<[string, string, Partial<AccessLogRow>]>([
    [
      'IPv6 client written without brackets: the port is after the last colon',
      ALB_HTTP.replace('198.51.100.23:51234', '2001:DB8:85a3::8a2e:370:7334:40312'),
      { ip_address: '2001:db8:85a3::8a2e:370:7334' },
    ],
    [
      '-1 processing times (no target answered): no response time',
      ALB_HTTP.replace('0.001 0.045 0.002 200 200', '0.000 -1 -1 502 -'),
      { response_time_ms: null, status_code: 502 },
    ],
    [
      'a "- - -" request (malformed, answered 400): kept with method and endpoint -',
      ALB_HTTP.replace('"GET https://shop.example.org:443/cart/items?page=2 HTTP/1.1"', '"- - - "').replace(
        '200 200',
        '400 -',
      ),
      { method: '-', endpoint: '-', query_string: null, status_code: 400 },
    ],
    [
      'HTTP/2 over TLS (h2) and a "-" user agent',
      ALB_HTTP.replace(/^https/, 'h2')
        .replace('HTTP/1.1', 'HTTP/2.0')
        .replace(/"Mozilla[^"]*"/, '"-"'),
      { user_agent: null, endpoint: '/cart/items' },
    ],
    [
      'fields AWS adds after the documented ones are ignored',
      `${ALB_HTTP} "some-new-field" 42`,
      { status_code: 200 },
    ],
    [
      'an escaped quote inside the user agent',
      ALB_HTTP.replace('Firefox/124.0', 'say \\"hi\\"'),
      { user_agent: 'Mozilla/5.0 (X11; Linux x86_64) say "hi"' },
    ],
  ])('%s', (_name, line, expected) => {
    // Act
    const parsed = parseAlbLine(line);

    // Assess
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.row).toMatchObject(expected);
  });

  it.each<[string, string, string]>([
    [
      'a combined line',
      '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.0" 200 5',
      'not an ALB access-log line',
    ],
    ['a line cut before the request', ALB_HTTP.slice(0, 120), 'truncated line'],
    [
      'a line cut inside the user agent',
      ALB_HTTP.slice(0, ALB_HTTP.indexOf('Firefox')),
      'truncated line: "user_agent" not closed',
    ],
    ['no elb_status_code (connection ended first)', ALB_HTTP.replace('200 200', '- -'), 'no elb_status_code'],
    [
      'a host name as client',
      ALB_HTTP.replace('198.51.100.23:51234', 'client.example.org:51234'),
      'is not an ip:port',
    ],
    [
      'a client without a port',
      ALB_HTTP.replace('198.51.100.23:51234', '198.51.100.23'),
      'is not an ip:port',
    ],
    ['an impossible date', ALB_HTTP.replace('2024-03-05T', '2024-02-31T'), 'bad timestamp'],
  ])('refuses %s with a reason', (_name, line, reason) => {
    // Act
    const parsed = parseAlbLine(line);

    // Assess
    expect(parsed).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });
});

const CF_FIELDS =
  '#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end';
const CF_LINE = [
  '2024-03-05',
  '10:15:30',
  'FRA56-P1',
  '5120',
  '203.0.113.9',
  'GET',
  'd1234abcdexample.cloudfront.net',
  '/assets/app%20main.js',
  '200',
  'https://www.example.org/start?x=1',
  'Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2014_3)',
  'v=3&lang=en',
  '-',
  'Hit',
  'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZg==',
  'static.example.org',
  'https',
  '140',
  '0.012',
  '-',
  'TLSv1.3',
  'TLS_AES_128_GCM_SHA256',
  'Hit',
  'HTTP/2.0',
  '-',
  '-',
  '40312',
  '0.010',
  'Hit',
  'application/javascript',
  '5000',
  '-',
  '-',
].join('\t');

describe('CloudFrontParser', () => {
  it('maps a standard-log line: date and time in UTC, decoded user agent, path as logged', () => {
    // Prepare
    const parser = new CloudFrontParser();

    // Act
    const directives = ['#Version: 1.0', CF_FIELDS].map((l) => parser.directive(l));
    const parsed = parser.parse(CF_LINE);

    // Assess
    expect(directives).toEqual([true, true]);
    expect(parsed).toEqual({
      ok: true,
      format: 'cloudfront',
      row: {
        timestamp: Date.parse('2024-03-05T10:15:30Z'),
        ip_address: '203.0.113.9',
        method: 'GET',
        endpoint: '/assets/app%20main.js',
        query_string: 'v=3&lang=en',
        status_code: 200,
        bytes_sent: 5120,
        response_time_ms: 12,
        referrer: 'https://www.example.org/start?x=1',
        user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3)',
      },
    });
  });

  it('reads columns by the names of a reordered, shorter #Fields line', () => {
    // Prepare: standard logging v2 lets the user pick and order the fields
    const parser = new CloudFrontParser();
    parser.directive('#Fields: c-ip sc-status cs-uri-stem time date cs-method time-taken');

    // Act
    const parsed = parser.parse(
      ['2001:DB8::7', '404', '/missing', '23:59:59', '2024-12-31', 'HEAD', '0.250'].join('\t'),
    );

    // Assess
    expect(parsed).toEqual({
      ok: true,
      format: 'cloudfront',
      row: {
        timestamp: Date.parse('2024-12-31T23:59:59Z'),
        ip_address: '2001:db8::7',
        method: 'HEAD',
        endpoint: '/missing',
        query_string: null,
        status_code: 404,
        bytes_sent: null,
        response_time_ms: 250,
        referrer: null,
        user_agent: null,
      },
    });
  });

  it('reads lines before any #Fields line in the default column order', () => {
    // Act
    const parsed = new CloudFrontParser().parse(CF_LINE);

    // Assess
    expect(parsed).toMatchObject({ ok: true, row: { ip_address: '203.0.113.9', status_code: 200 } });
  });

  it.each<[string, string, string]>([
    ['status 000 (viewer left)', CF_LINE.replace('\t200\t', '\t000\t'), 'sc-status 000'],
    ['a space-separated line', CF_LINE.replace(/\t/g, ' '), 'no tab-separated fields'],
    ['a line cut after a few fields', CF_LINE.split('\t').slice(0, 6).join('\t'), 'truncated line'],
    ['a host name as client', CF_LINE.replace('203.0.113.9', 'viewer.example.org'), 'is not an IP address'],
  ])('refuses %s with a reason', (_name, line, reason) => {
    // Act
    const parsed = new CloudFrontParser().parse(line);

    // Assess
    expect(parsed).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('refuses every line when #Fields lacks a column a row needs, naming it', () => {
    // Prepare
    const parser = new CloudFrontParser();
    parser.directive('#Fields: date time cs-method cs-uri-stem sc-status');

    // Act
    const parsed = parser.parse('2024-03-05\t10:15:30\tGET\t/\t200');

    // Assess
    expect(parsed).toEqual({ ok: false, reason: 'the #Fields header lacks c-ip' });
  });

  it('decodes percent-encoding once and keeps malformed sequences as written', () => {
    // Act / Assess
    expect(percentDecode('a%20b%2520c')).toBe('a b%20c');
    expect(percentDecode('100%zz%20done')).toBe('100%zz done');
  });
});

describe('format detection and --format', () => {
  const rows = Array.from({ length: 30 }, (_, i) => portableRow(i));

  it.each<LogFormat>(['combined', 'common', 'alb', 'cloudfront'])('detects %s', (format) => {
    // Prepare
    const detector = new FormatDetector();

    // Act
    for (const line of logText(format, rows).split('\n').filter(Boolean)) detector.add(line);

    // Assess
    expect(detector.decide()).toBe(format);
    expect(detector.goodLines).toBe(30);
  });

  it('a forced format refuses the lines of another one, and a header line is neither row nor error', () => {
    // Prepare
    const alb = createLineParser('alb');
    const cloudfront = createLineParser('cloudfront');

    // Act
    const combinedAsAlb = alb.parse(logText('combined', rows.slice(0, 1)).trim());
    const header = cloudfront.parse(CLOUDFRONT_HEADER.split('\n')[1] as string);
    const albAsCloudfront = cloudfront.parse(ALB_HTTP);

    // Assess
    expect(combinedAsAlb).toMatchObject({ ok: false, reason: expect.stringContaining('not an ALB') });
    expect(header).toBeUndefined();
    expect(albAsCloudfront).toMatchObject({ ok: false, reason: expect.stringContaining('CloudFront') });
  });
});
