import { describe, expect, it } from 'vitest';
import { renderData, renderTable } from '../../src/client/render.js';
import { buildRequestBody, parseParam, parseTimeFlag } from '../../src/client/request-body.js';
import { continuationCommand } from '../../src/commands/invoke.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');

describe('parseTimeFlag', () => {
  it.each([
    { value: '30m', expected: '2026-03-10T11:30:00.000Z' },
    { value: '2h', expected: '2026-03-10T10:00:00.000Z' },
    { value: '7d', expected: '2026-03-03T12:00:00.000Z' },
    { value: '45s', expected: '2026-03-10T11:59:15.000Z' },
    { value: '2026-03-01T08:00:00Z', expected: '2026-03-01T08:00:00Z' },
    { value: '2026-03-01T08:00:00', expected: '2026-03-01T08:00:00' },
  ])('$value → $expected', ({ value, expected }) => {
    expect(parseTimeFlag(value, '--since', NOW)).toBe(expected);
  });

  it.each(['yesterday', '2x', '-2h', '2026-13-45'])('refuses %s as bad usage', (value) => {
    expect(() => parseTimeFlag(value, '--since', NOW)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('parseParam', () => {
  it.each([
    { pair: 'top_n=10', expected: ['top_n', 10] },
    { pair: 'error_rate=0.5', expected: ['error_rate', 0.5] },
    { pair: 'all_time=true', expected: ['all_time', true] },
    { pair: 'all_time=false', expected: ['all_time', false] },
    { pair: 'method=GET', expected: ['method', 'GET'] },
    { pair: 'endpoint=/a=b', expected: ['endpoint', '/a=b'] },
    { pair: 'x=', expected: ['x', ''] },
    { pair: 'referrer=null', expected: ['referrer', null] },
    { pair: 'code="404"', expected: ['code', '404'] },
    { pair: 'flag="true"', expected: ['flag', 'true'] },
    { pair: 'n=-3', expected: ['n', -3] },
    { pair: 'ip_address=10.0.0.1', expected: ['ip_address', '10.0.0.1'] },
  ])('$pair', ({ pair, expected }) => {
    expect(parseParam(pair)).toEqual(expected);
  });

  it.each(['=5', 'limit', 'two words=1', '1st=2', 'a.b=3'])('refuses %s as bad usage', (pair) => {
    expect(() => parseParam(pair)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/key=value/) }),
    );
  });
});

describe('buildRequestBody', () => {
  it('maps every shortcut flag to its backend parameter', () => {
    const body = buildRequestBody(
      'get_access_logs',
      {
        ip: '192.168.1.1',
        endpoint: '/api/users',
        status: '404',
        limit: '20',
        since: '2h',
        until: '30m',
        cursor: 'abc',
        param: ['method=GET', 'min_status=500'],
      },
      NOW,
    );
    expect(body).toEqual({
      intent: 'get_access_logs',
      params: {
        ip_address: '192.168.1.1',
        endpoint: '/api/users',
        status_code: 404,
        limit: 20,
        start_time: '2026-03-10T10:00:00.000Z',
        end_time: '2026-03-10T11:30:00.000Z',
        cursor: 'abc',
        method: 'GET',
        min_status: 500,
      },
    });
    expect(buildRequestBody('get_access_logs', { hours: '6', until: '1h' }, NOW).params).toEqual({
      hours: 6,
      end_time: '2026-03-10T11:00:00.000Z',
    });
    expect(buildRequestBody('get_access_logs', { allTime: true }, NOW).params).toEqual({ all_time: true });
  });

  it.each([
    { allTime: true, hours: '2' },
    { allTime: true, since: '2h' },
    { allTime: true, until: '1h' },
    { hours: '2', since: '1h' },
  ])('refuses the window flags %o together', (flags) => {
    expect(() => buildRequestBody('get_access_logs', flags, NOW)).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
  });

  it('lets --param override a shortcut flag', () => {
    expect(buildRequestBody('get_access_logs', { limit: '5', param: ['limit=7'] }, NOW).params).toEqual({
      limit: 7,
    });
  });

  it('reads a trailing * on --endpoint as a prefix', () => {
    expect(buildRequestBody('get_access_logs', { endpoint: '/api/*' }, NOW).params).toEqual({
      endpoint_prefix: '/api/',
    });
  });

  it('sends no params object entries when no flag is given', () => {
    expect(buildRequestBody('health', {}, NOW)).toEqual({ intent: 'health', params: {} });
  });

  it.each([{ limit: 'ten' }, { status: '4xx' }, { hours: '-1' }])('refuses %o as bad usage', (flags) => {
    expect(() => buildRequestBody('get_access_logs', flags, NOW)).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
  });
});

describe('continuationCommand', () => {
  it('repeats the request with the cursor, relative times made absolute, never the key', () => {
    const flags = { ip: '10.0.0.1', since: '2h', local: true, apiKey: 'secret', param: ['method=GET'] };
    const params = buildRequestBody('get_access_logs', flags, NOW).params;
    expect(continuationCommand('get_access_logs', flags, params, 'abc.def')).toBe(
      'chatbot-ops invoke get_access_logs --ip 10.0.0.1 --since 2026-03-10T10:00:00.000Z --local --param method=GET --cursor abc.def',
    );
  });

  it('repeats the global options that chose the deployment', () => {
    const globals = { region: 'eu-west-1', profile: 'ops team', json: true, verbose: true, yes: false };
    expect(continuationCommand('get_access_logs', {}, {}, 'c', globals)).toBe(
      "chatbot-ops --region eu-west-1 --profile 'ops team' invoke get_access_logs --cursor c",
    );
  });

  it('starts with the CLI as the user ran it, so the line works in a clone too', () => {
    expect(continuationCommand('health', {}, {}, 'c', {}, './bin/chatbot-ops.js')).toBe(
      './bin/chatbot-ops.js invoke health --cursor c',
    );
  });

  it('quotes what the shell would split', () => {
    const flags = { endpoint: "/a b's" };
    expect(continuationCommand('get_access_logs', flags, {}, 'c')).toBe(
      "chatbot-ops invoke get_access_logs --endpoint '/a b'\\''s' --cursor c",
    );
  });
});

describe('rendering', () => {
  it('aligns table columns and right-aligns numbers', () => {
    const lines = renderTable([
      { path: '/a', count: 5 },
      { path: '/longer', count: 12345 },
    ]);
    expect(lines).toEqual(['path     count', '-------  -----', '/a           5', '/longer  12345']);
  });

  it('shows a list of records as a table, error rates as percentages, and leaves the cursor out', () => {
    const lines = renderData({
      window: null,
      endpoints: [
        { endpoint: '/a', requests: 45, error_rate: 0.0444 },
        { endpoint: '/b', requests: 7, error_rate: 0 },
      ],
      next_cursor: 'abc',
    });
    expect(lines).toEqual([
      'window:  all time',
      'endpoints:',
      '  endpoint  requests  error_rate',
      '  --------  --------  ----------',
      '  /a              45       4.44%',
      '  /b               7       0.00%',
    ]);
  });

  it('shows list_intents as one block per intent with its parameter names', () => {
    const lines = renderData({
      intents: [
        {
          name: 'get_ip_activity',
          description: 'One client address: request and error counts, first and last seen, and more words',
          params: [{ name: 'ip_address', type: 'ip_address' }, { name: 'hours' }],
        },
        { name: 'health', description: 'Liveness', params: [] },
      ],
    });
    expect(lines).toEqual([
      'intents:',
      '  get_ip_activity  One client address: request and error counts, first and last seen, and more words',
      '                   params: ip_address, hours',
      '  health           Liveness',
      '                   params: none',
    ]);
  });

  it('shows a summary as key/value with nested blocks and the error rate as a percentage', () => {
    const lines = renderData({
      total_requests: 10,
      error_rate: 0.1234,
      window: null,
      status_breakdown: { '2xx': 9, '5xx': 1 },
    });
    expect(lines).toEqual([
      'total_requests:  10',
      'error_rate:      12.34%',
      'window:          all time',
      'status_breakdown:',
      '  2xx:  9',
      '  5xx:  1',
    ]);
  });
});
