/**
 * Every intent on a known fixture (test/lambda/support.ts), through the real handler and a real
 * MariaDB: exact counts, ordering, top-N, windows, pagination, and an empty database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendHandler } from '../../src/lambda/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { answer, backendEnv, createAppUser, FIXTURE, handlerWithLog, insertRows, NOW } from './support.js';

let db: TestDatabase;
let empty: TestDatabase;
let handler: BackendHandler;
let emptyHandler: BackendHandler;

beforeAll(async () => {
  db = await createTestDatabase('lambda_intents');
  empty = await createTestDatabase('lambda_empty');
  await insertRows(db.pool, FIXTURE);
  handler = handlerWithLog({ env: backendEnv(db, await createAppUser(db)) }).handler;
  emptyHandler = handlerWithLog({ env: backendEnv(empty, await createAppUser(empty)) }).handler;
});

afterAll(async () => {
  await handler?.close();
  await emptyHandler?.close();
  await db?.drop();
  await empty?.drop();
});

async function call(intent: string, params: Record<string, unknown> = {}, on = () => handler) {
  const result = answer(await on()({ intent, params }));
  if (result.status !== 200) throw new Error(`${intent} answered ${result.status}: ${result.raw}`);
  return result.data as Record<string, any>;
}

const ids = (data: Record<string, any>) => (data.logs as { id: number }[]).map((log) => log.id);
const DEFAULT_WINDOW = { start: '2024-04-30T12:00:00.000Z', end: '2024-05-01T12:00:00.000Z' };

describe('get_traffic_summary', () => {
  it('counts the default last 24 hours, with top lists ordered by count then name', async () => {
    const data = await call('get_traffic_summary');

    expect(data).toEqual({
      total_requests: 11,
      error_count: 4,
      error_rate: 0.3636,
      top_endpoints: { '/api/users': 4, '/api/login': 2, '/api/users/42': 2, '/': 1, '/api_v2/x': 1 },
      top_ips: { '10.0.0.1': 4, '10.0.0.2': 3, '192.168.1.1': 2, '2001:db8::7': 2 },
      status_breakdown: { '2xx': 6, '3xx': 1, '4xx': 2, '5xx': 2 },
      window: DEFAULT_WINDOW,
    });
    expect(Object.keys(data.top_endpoints)).toEqual([
      '/api/users',
      '/api/login',
      '/api/users/42',
      '/',
      '/api_v2/x',
    ]);
    expect(Object.keys(data.top_ips)).toEqual(['10.0.0.1', '10.0.0.2', '192.168.1.1', '2001:db8::7']);
  });

  it('honours top_n', async () => {
    const data = await call('get_traffic_summary', { top_n: 2 });

    expect(data.top_endpoints).toEqual({ '/api/users': 4, '/api/login': 2 });
    expect(data.top_ips).toEqual({ '10.0.0.1': 4, '10.0.0.2': 3 });
  });

  it('counts every row with all_time and echoes a null window', async () => {
    const data = await call('get_traffic_summary', { all_time: true });

    expect(data.total_requests).toBe(FIXTURE.length);
    expect(data.error_count).toBe(5);
    expect(data.error_rate).toBe(0.1351);
    expect(data.status_breakdown).toEqual({ '2xx': 31, '3xx': 1, '4xx': 3, '5xx': 2 });
    expect(data.top_endpoints).toMatchObject({ '/p95': 20, '/api/users': 6 });
    expect(data.window).toBeNull();
  });

  it.each([
    ['hours', { hours: 2 }, 5, { start: '2024-05-01T10:00:00.000Z', end: '2024-05-01T12:00:00.000Z' }],
    [
      'start and end without offset (UTC)',
      { start_time: '2024-05-01T09:00:00', end_time: '2024-05-01T10:00:00' },
      1,
      { start: '2024-05-01T09:00:00.000Z', end: '2024-05-01T10:00:00.000Z' },
    ],
    [
      'start and end with offsets',
      { start_time: '2024-05-01T11:00:00+02:00', end_time: '2024-05-01T05:00:00-05:00' },
      1,
      { start: '2024-05-01T09:00:00.000Z', end: '2024-05-01T10:00:00.000Z' },
    ],
    [
      'start only (until now)',
      { start_time: '2024-05-01T11:00:00.500Z' },
      4,
      { start: '2024-05-01T11:00:00.500Z', end: '2024-05-01T12:00:00.000Z' },
    ],
    [
      'end only (the 24 hours before it)',
      { end_time: '2024-04-30T12:00:00.000Z' },
      1,
      { start: '2024-04-29T12:00:00.000Z', end: '2024-04-30T12:00:00.000Z' },
    ],
    [
      'hours before an end',
      { hours: 48, end_time: '2024-04-30T00:00:00Z' },
      1,
      { start: '2024-04-28T00:00:00.000Z', end: '2024-04-30T00:00:00.000Z' },
    ],
  ])('window from %s', async (_label, params, total, window) => {
    const data = await call('get_traffic_summary', params);

    expect(data.total_requests).toBe(total);
    expect(data.window).toEqual(window);
  });

  it('answers zeros and empty maps on an empty database (the guide expected response)', async () => {
    const data = await call('get_traffic_summary', {}, () => emptyHandler);

    expect(data).toEqual({
      total_requests: 0,
      error_count: 0,
      error_rate: 0,
      top_endpoints: {},
      top_ips: {},
      status_breakdown: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
      window: { start: '2024-04-30T12:00:00.000Z', end: '2024-05-01T12:00:00.000Z' },
    });
  });
});

describe('get_access_logs', () => {
  it('returns entries newest first, ties by id, in the documented shape', async () => {
    const data = await call('get_access_logs');

    expect(ids(data)).toEqual([1, 3, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(data.count).toBe(11);
    expect(data.next_cursor).toBeNull();
    expect(data.window).toEqual(DEFAULT_WINDOW);
    expect(data.logs[0]).toEqual({
      id: 1,
      timestamp: '2024-05-01T11:59:59.999Z',
      ip_address: '10.0.0.1',
      method: 'GET',
      endpoint: '/api/users',
      query_string: 'page=2',
      status_code: 200,
      bytes_sent: 512,
      response_time_ms: 20,
      referrer: 'https://example.com/',
      user_agent: 'curl/8.5',
    });
    // A '-' or empty field in the source is null.
    expect(data.logs[4]).toMatchObject({
      id: 5,
      bytes_sent: null,
      referrer: null,
      user_agent: null,
      query_string: null,
    });
  });

  it.each([
    ['ip_address', { ip_address: '10.0.0.1' }, [1, 2, 6, 8]],
    ['IPv6 in another case', { ip_address: '2001:DB8::7' }, [5, 11]],
    ['endpoint (exact)', { endpoint: '/api/users' }, [1, 2, 8, 9]],
    ['endpoint_prefix', { endpoint_prefix: '/api/users' }, [1, 2, 6, 7, 8, 9]],
    ['endpoint_prefix with _ taken literally', { endpoint_prefix: '/api_', all_time: true }, [11]],
    ['endpoint_prefix with % taken literally', { endpoint_prefix: '/100%', all_time: true }, [14]],
    ['method, any case', { method: 'post' }, [3, 4]],
    ['status_code', { status_code: 200 }, [1, 2, 4, 8, 10, 11]],
    ['several filters together', { ip_address: '10.0.0.2', method: 'POST', status_code: 401 }, [3]],
    ['a window', { start_time: '2024-04-25T00:00:00Z', end_time: '2024-04-30T12:00:00Z' }, [12, 13, 15, 14]],
  ])('filters by %s', async (_label, params, expected) => {
    const data = await call('get_access_logs', params);

    expect(ids(data)).toEqual(expected);
  });

  it('pages through the whole table with no row repeated or missed', async () => {
    const expected = FIXTURE.map((r, i) => ({ id: i + 1, ts: r.ts }))
      .sort((a, b) => (a.ts === b.ts ? b.id - a.id : a.ts < b.ts ? 1 : -1))
      .map((r) => r.id);
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const data = await call('get_access_logs', { all_time: true, limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...ids(data));
      cursor = data.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 50);

    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(FIXTURE.length / 3));
  });

  it('keeps the first page window and position while rows are appended and the clock moves', async () => {
    let clock = NOW.getTime();
    const { handler: moving } = handlerWithLog({
      env: backendEnv(db, await createAppUser(db)),
      now: () => new Date(clock),
    });
    const first = answer(await moving({ intent: 'get_access_logs', params: { limit: 4 } })).data as Record<
      string,
      any
    >;
    await db.pool.query(
      "INSERT INTO access_logs (`timestamp`, ip_address, method, endpoint, status_code) VALUES ('2024-05-01 11:45:00', '10.1.1.1', 'GET', '/new', 200)",
    );
    clock += 3600_000;
    const rest: number[] = [];
    let cursor: string | null = first.next_cursor;
    while (cursor) {
      const page = answer(await moving({ intent: 'get_access_logs', params: { limit: 4, cursor } }))
        .data as Record<string, any>;
      expect(page.window).toEqual(DEFAULT_WINDOW);
      rest.push(...ids(page));
      cursor = page.next_cursor;
    }
    await db.pool.query("DELETE FROM access_logs WHERE endpoint = '/new'");
    await moving.close();

    expect([...ids(first), ...rest]).toEqual([1, 3, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('accepts another page size with the same cursor', async () => {
    const first = await call('get_access_logs', { limit: 2 });

    const second = await call('get_access_logs', { limit: 5, cursor: first.next_cursor });

    expect(ids(second)).toEqual([2, 4, 5, 6, 7]);
  });

  it('caps limit at MAX_QUERY_LIMIT', async () => {
    const { handler: capped } = handlerWithLog({
      env: backendEnv(db, await createAppUser(db), { MAX_QUERY_LIMIT: '5' }),
    });
    const atCap = answer(await capped({ intent: 'get_access_logs', params: { limit: 5 } }));
    const overCap = answer(await capped({ intent: 'get_access_logs', params: { limit: 6 } }));
    await capped.close();

    expect(atCap.status).toBe(200);
    expect((atCap.data.logs as unknown[]).length).toBe(5);
    expect(overCap.body).toMatchObject({
      error_code: 'INVALID_PARAMS',
      error: expect.stringContaining('limit'),
    });
  });

  it('answers an empty page on an empty database', async () => {
    const data = await call('get_access_logs', { all_time: true }, () => emptyHandler);

    expect(data).toEqual({ logs: [], count: 0, next_cursor: null, window: null });
  });
});

describe('get_error_logs', () => {
  it.each([
    ['default (status >= 400, last 24 hours)', {}, [3, 6, 7, 9]],
    ['min_status 500', { min_status: 500 }, [7, 9]],
    ['all time', { all_time: true }, [3, 6, 7, 9, 14]],
    ['with an ip filter', { ip_address: '192.168.1.1' }, [7, 9]],
  ])('%s', async (_label, params, expected) => {
    const data = await call('get_error_logs', params);

    expect(ids(data)).toEqual(expected);
  });

  it('pages with its own cursors', async () => {
    const first = await call('get_error_logs', { limit: 3 });
    const second = await call('get_error_logs', { limit: 3, cursor: first.next_cursor });

    expect([...ids(first), ...ids(second)]).toEqual([3, 6, 7, 9]);
    expect(second.next_cursor).toBeNull();
  });
});

describe('get_ip_activity', () => {
  it('summarises one address over the default window', async () => {
    const data = await call('get_ip_activity', { ip_address: '10.0.0.1' });

    expect(data).toEqual({
      ip_address: '10.0.0.1',
      total_requests: 4,
      error_count: 1,
      first_seen: '2024-05-01T07:00:00.000Z',
      last_seen: '2024-05-01T11:59:59.999Z',
      top_endpoints: { '/api/users': 3, '/api/users/42': 1 },
      status_breakdown: { '2xx': 3, '3xx': 0, '4xx': 1, '5xx': 0 },
      methods: { GET: 4 },
      window: DEFAULT_WINDOW,
    });
  });

  it('covers all time on request', async () => {
    const data = await call('get_ip_activity', { ip_address: '10.0.0.2', all_time: true });

    expect(data).toMatchObject({
      total_requests: 4,
      error_count: 1,
      first_seen: '2024-01-01T00:00:00.000Z',
      last_seen: '2024-05-01T11:30:00.000Z',
      methods: { POST: 2, GET: 1, PUT: 1 },
    });
    expect(Object.keys(data.methods)).toEqual(['POST', 'GET', 'PUT']);
  });

  it('answers zeros and nulls for an address never seen', async () => {
    const data = await call('get_ip_activity', { ip_address: '203.0.113.9' });

    expect(data).toEqual({
      ip_address: '203.0.113.9',
      total_requests: 0,
      error_count: 0,
      first_seen: null,
      last_seen: null,
      top_endpoints: {},
      status_breakdown: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
      methods: {},
      window: DEFAULT_WINDOW,
    });
  });
});

describe('get_endpoint_stats', () => {
  it('ranks endpoints with requests, errors, mean and p95 response times', async () => {
    const data = await call('get_endpoint_stats');

    expect(data.endpoints).toEqual([
      {
        endpoint: '/api/users',
        requests: 4,
        errors: 1,
        error_rate: 0.25,
        avg_response_ms: 272.5,
        p95_response_ms: 1000,
      },
      {
        endpoint: '/api/login',
        requests: 2,
        errors: 1,
        error_rate: 0.5,
        avg_response_ms: 20,
        p95_response_ms: 25,
      },
      {
        endpoint: '/api/users/42',
        requests: 2,
        errors: 2,
        error_rate: 1,
        avg_response_ms: 154,
        p95_response_ms: 300,
      },
      { endpoint: '/', requests: 1, errors: 0, error_rate: 0, avg_response_ms: null, p95_response_ms: null },
      {
        endpoint: '/api_v2/x',
        requests: 1,
        errors: 0,
        error_rate: 0,
        avg_response_ms: 12,
        p95_response_ms: 12,
      },
    ]);
  });

  it('takes p95 as the nearest-rank percentile', async () => {
    // /p95 has response times 1..20 ms: 95% of 20 requests is the 19th.
    const data = await call('get_endpoint_stats', {
      endpoint: '/p95',
      start_time: '2024-03-01',
      end_time: '2024-03-02',
    });

    expect(data.endpoints).toEqual([
      {
        endpoint: '/p95',
        requests: 20,
        errors: 0,
        error_rate: 0,
        avg_response_ms: 10.5,
        p95_response_ms: 19,
      },
    ]);
  });

  it('answers an empty list on an empty database', async () => {
    const data = await call('get_endpoint_stats', {}, () => emptyHandler);

    expect(data.endpoints).toEqual([]);
  });
});

describe('get_traffic_timeseries', () => {
  it('fills every hour of the default window, empty ones with zeros', async () => {
    const data = await call('get_traffic_timeseries');

    expect(data.interval).toBe('hour');
    expect(data.buckets).toHaveLength(24);
    expect(data.buckets[0]).toEqual({ start: '2024-04-30T12:00:00.000Z', requests: 1, errors: 0 });
    expect(data.buckets[1]).toEqual({ start: '2024-04-30T13:00:00.000Z', requests: 0, errors: 0 });
    expect(data.buckets[23]).toEqual({ start: '2024-05-01T11:00:00.000Z', requests: 4, errors: 1 });
    const nonEmpty = data.buckets
      .filter((b: { requests: number }) => b.requests > 0)
      .map((b: { start: string }) => b.start.slice(11, 13));
    expect(nonEmpty).toEqual(['12', '01', '06', '07', '08', '09', '10', '11']);
    expect(data.buckets.reduce((sum: number, b: { requests: number }) => sum + b.requests, 0)).toBe(11);
  });

  it('buckets by minute', async () => {
    const data = await call('get_traffic_timeseries', { interval: 'minute', hours: 1 });

    expect(data.buckets).toHaveLength(60);
    expect(data.buckets[0]).toEqual({ start: '2024-05-01T11:00:00.000Z', requests: 1, errors: 0 });
    expect(data.buckets[30]).toEqual({ start: '2024-05-01T11:30:00.000Z', requests: 2, errors: 1 });
    expect(data.buckets[59]).toEqual({ start: '2024-05-01T11:59:00.000Z', requests: 1, errors: 0 });
  });

  it('counts the same per bucket whether it counts ranges (<= 64 buckets) or groups rows (more)', async () => {
    const ranges = await call('get_traffic_timeseries', { interval: 'minute', hours: 1 });
    const grouped = await call('get_traffic_timeseries', { interval: 'minute', hours: 2 });

    expect(grouped.buckets).toHaveLength(120);
    expect(grouped.buckets.slice(60)).toEqual(ranges.buckets);
    expect(
      ranges.buckets.reduce((sum: number, b: { requests: number }) => sum + b.requests, 0),
    ).toBeGreaterThan(2);
  });

  it('clips the first and last buckets to a window that does not start on a bucket boundary', async () => {
    const data = await call('get_traffic_timeseries', {
      interval: 'hour',
      start_time: '2024-05-01T11:30:00Z',
      end_time: '2024-05-01T11:30:30Z',
    });

    // Only the rows of 11:30:00-11:30:29.999 count, in the bucket that starts at 11:00.
    expect(data.buckets).toEqual([{ start: '2024-05-01T11:00:00.000Z', requests: 2, errors: 1 }]);
  });

  it('spans the data by day for all time', async () => {
    const data = await call('get_traffic_timeseries', { interval: 'day', all_time: true });

    // 2024-01-01 to 2024-05-01 inclusive (a leap year): 31 + 29 + 31 + 30 + 1 days.
    expect(data.buckets).toHaveLength(122);
    expect(data.buckets[0]).toEqual({ start: '2024-01-01T00:00:00.000Z', requests: 1, errors: 0 });
    // May 1: rows 1-10 and row 17 (exactly at the default window's end), errors rows 3, 6, 7 and 9.
    expect(data.buckets.at(-1)).toEqual({ start: '2024-05-01T00:00:00.000Z', requests: 11, errors: 4 });
    expect(data.window).toBeNull();
  });

  it('refuses more buckets than it can answer, naming interval', async () => {
    const result = answer(
      await handler({ intent: 'get_traffic_timeseries', params: { interval: 'minute', hours: 48 } }),
    );

    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({
      error_code: 'INVALID_PARAMS',
      error: expect.stringMatching(/^interval:/),
    });
  });

  it('answers no buckets for all time on an empty database', async () => {
    const data = await call('get_traffic_timeseries', { all_time: true }, () => emptyHandler);

    expect(data).toEqual({ interval: 'hour', buckets: [], window: null });
  });
});

describe('health and list_intents', () => {
  it('health reports the database reachable', async () => {
    const data = await call('health');

    expect(data).toEqual({ status: 'ok', database: { reachable: true, latency_ms: expect.any(Number) } });
  });

  it('list_intents describes every intent and its parameters', async () => {
    const data = await call('list_intents');

    const names = (data.intents as { name: string }[]).map((i) => i.name);
    expect(names.sort()).toEqual(
      [
        'get_access_logs',
        'get_endpoint_stats',
        'get_error_logs',
        'get_ip_activity',
        'get_traffic_summary',
        'get_traffic_timeseries',
        'get_visitors',
        'get_not_found',
        'get_referrers',
        'get_user_agents',
        'get_bandwidth',
        'health',
        'list_intents',
      ].sort(),
    );
    const accessLogs = (
      data.intents as { name: string; description: string; params: { name: string }[] }[]
    ).find((i) => i.name === 'get_access_logs')!;
    expect(accessLogs.description.length).toBeGreaterThan(10);
    expect(accessLogs.params.find((p) => p.name === 'limit')).toEqual({
      name: 'limit',
      type: 'integer',
      description: expect.any(String),
      required: false,
      default: 100,
      minimum: 1,
      maximum: 1000,
    });
    // The longest text accepted, so tool schemas carry it as maxLength.
    expect(accessLogs.params.find((p) => p.name === 'endpoint')).toMatchObject({
      type: 'string',
      maxLength: 700,
    });
    const ipActivity = (
      data.intents as { name: string; params: { name: string; required: boolean }[] }[]
    ).find((i) => i.name === 'get_ip_activity')!;
    expect(ipActivity.params.find((p) => p.name === 'ip_address')?.required).toBe(true);
  });
});
