/**
 * ChatbotClient (`chatbot-ops/client`) against the real local stack (gateway stand-in, packaged function,
 * MariaDB), and against a scripted stand-in for the answers a healthy stack does not give on demand
 * (429, 5xx, 401).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatbotApiError, ChatbotClient, type LogEntry } from '../../src/client/index.js';
import type { LocalStack } from '../../src/local/stack.js';
import { startApiStandIn } from '../invoke/api-stand-in.js';
import { SEEDED_ROWS, type StackFixture, stackFixture } from '../local/stack-fixture.js';

let fixture: StackFixture;
let stack: LocalStack;
let client: ChatbotClient;

beforeAll(async () => {
  fixture = await stackFixture('client');
  stack = await fixture.start({ usagePlan: { rateLimit: 1000, burstLimit: 2000 } });
  client = new ChatbotClient({ url: stack.url, apiKey: stack.apiKey, retries: 0 });
});

afterAll(async () => {
  await fixture?.stopAll();
});

async function dbCount(sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await fixture.db.pool.query<RowDataPacket[]>(sql, values);
  return Number(rows[0]?.n);
}

describe('one typed method per intent, against the local stack', () => {
  it('getTrafficSummary counts every row over all time', async () => {
    const data = await client.getTrafficSummary({ all_time: true, top_n: 3 });

    expect(data.total_requests).toBe(SEEDED_ROWS);
    expect(data.error_count).toBe(
      await dbCount('SELECT COUNT(*) AS n FROM access_logs WHERE status_code >= 400'),
    );
    expect(Object.keys(data.top_endpoints)).toHaveLength(3);
    expect(data.window).toBeNull();
  });

  it('getAccessLogs gives one page, newest first, with a cursor', async () => {
    const page = await client.getAccessLogs({ all_time: true, limit: 5 });

    expect(page.count).toBe(5);
    expect(page.logs.map((e) => e.timestamp)).toEqual(
      [...page.logs.map((e) => e.timestamp)].sort().reverse(),
    );
    expect(page.next_cursor).toEqual(expect.any(String));
  });

  it('getErrorLogs gives only statuses from min_status up', async () => {
    const page = await client.getErrorLogs({ all_time: true, min_status: 500, limit: 1000 });

    expect(page.count).toBe(await dbCount('SELECT COUNT(*) AS n FROM access_logs WHERE status_code >= 500'));
    expect(page.logs.every((e) => e.status_code >= 500)).toBe(true);
  });

  it('getIpActivity counts the requests of one address', async () => {
    const data = await client.getIpActivity({ ip_address: '192.168.1.1', all_time: true });

    expect(data.ip_address).toBe('192.168.1.1');
    expect(data.total_requests).toBe(
      await dbCount('SELECT COUNT(*) AS n FROM access_logs WHERE ip_address = ?', ['192.168.1.1']),
    );
  });

  it('getEndpointStats ranks the busiest endpoints', async () => {
    const data = await client.getEndpointStats({ all_time: true, top_n: 2 });

    expect(data.endpoints).toHaveLength(2);
    const [top] = data.endpoints;
    expect(top?.requests).toBe(
      await dbCount('SELECT COUNT(*) AS n FROM access_logs WHERE endpoint = ?', [top?.endpoint]),
    );
  });

  it('getTrafficTimeseries fills every bucket of the window', async () => {
    const data = await client.getTrafficTimeseries({ hours: 48, interval: 'day' });

    const { start, end } = data.window as { start: string; end: string };
    const total = data.buckets.reduce((sum, b) => sum + b.requests, 0);
    expect(data.interval).toBe('day');
    expect(total).toBe(
      await dbCount('SELECT COUNT(*) AS n FROM access_logs WHERE `timestamp` >= ? AND `timestamp` < ?', [
        new Date(start),
        new Date(end),
      ]),
    );
  });

  it('health reports the database reachable', async () => {
    expect(await client.health()).toEqual({
      status: 'ok',
      database: { reachable: true, latency_ms: expect.any(Number) },
    });
  });

  it('has a typed method for every intent the backend lists', async () => {
    const methods: Record<string, keyof ChatbotClient> = {
      get_traffic_summary: 'getTrafficSummary',
      get_access_logs: 'getAccessLogs',
      get_error_logs: 'getErrorLogs',
      get_ip_activity: 'getIpActivity',
      get_endpoint_stats: 'getEndpointStats',
      get_traffic_timeseries: 'getTrafficTimeseries',
      get_visitors: 'getVisitors',
      get_not_found: 'getNotFound',
      get_referrers: 'getReferrers',
      get_user_agents: 'getUserAgents',
      get_bandwidth: 'getBandwidth',
      health: 'health',
      list_intents: 'listIntents',
    };

    const { intents } = await client.listIntents();

    expect(intents.map((i) => i.name).sort()).toEqual(Object.keys(methods).sort());
    for (const method of Object.values(methods)) expect(typeof client[method]).toBe('function');
  });

  it('call() reaches any intent by name, for intents newer than the client', async () => {
    const data = await client.call('health');

    expect(data.status).toBe('ok');
  });
});

describe('cursor iteration', () => {
  it('walks a whole window page by page with no row repeated or missed, while rows are appended', async () => {
    // Prepare: the rows the window holds now, in the order the backend pages them
    const [expected] = await fixture.db.pool.query<RowDataPacket[]>(
      'SELECT id FROM access_logs ORDER BY `timestamp` DESC, id DESC',
    );
    const seen: number[] = [];
    let appended = false;
    try {
      // Act: 7 entries a page; after the first page new traffic arrives
      for await (const entry of client.accessLogs({ all_time: true, limit: 7 })) {
        seen.push(entry.id);
        if (!appended) {
          appended = true;
          await fixture.db.pool.query(
            `INSERT INTO access_logs (\`timestamp\`, ip_address, method, endpoint, status_code)
             VALUES (UTC_TIMESTAMP(3), '10.9.9.9', 'GET', '/new', 200), (UTC_TIMESTAMP(3), '10.9.9.9', 'GET', '/new', 500)`,
          );
        }
      }
    } finally {
      await fixture.db.pool.query("DELETE FROM access_logs WHERE ip_address = '10.9.9.9'");
    }

    // Assess
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected.map((r) => Number(r.id)));
    expect(seen).toHaveLength(SEEDED_ROWS);
  });

  it('errorLogs iterates the filtered entries only', async () => {
    const entries: LogEntry[] = [];
    for await (const e of client.errorLogs({ all_time: true, min_status: 404, limit: 3 })) entries.push(e);

    expect(entries.length).toBe(
      await dbCount('SELECT COUNT(*) AS n FROM access_logs WHERE status_code >= 404'),
    );
    expect(entries.every((e) => e.status_code >= 404)).toBe(true);
  });

  it('pages() stops after the page whose next_cursor is null', async () => {
    const sizes: number[] = [];
    for await (const page of client.pages('get_access_logs', { all_time: true, limit: 120 }))
      sizes.push(page.count);

    expect(sizes).toEqual([120, 120, 60]);
  });
});

describe('errors', () => {
  it('a refused param is a ChatbotApiError with the status, the backend code and the request id', async () => {
    const err = await client.getTrafficSummary({ top_n: 0 }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ChatbotApiError);
    expect(err).toMatchObject({
      status: 400,
      errorCode: 'INVALID_PARAMS',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      message: expect.stringMatching(/^400 INVALID_PARAMS: top_n: /),
    });
  });

  it('an unknown intent is UNKNOWN_INTENT', async () => {
    await expect(client.call('no_such_intent')).rejects.toMatchObject({
      status: 400,
      errorCode: 'UNKNOWN_INTENT',
    });
  });

  it("API Gateway's refusal of a wrong key is FORBIDDEN", async () => {
    const wrong = new ChatbotClient({ url: stack.url, apiKey: 'not-the-key', retries: 0 });

    await expect(wrong.health()).rejects.toMatchObject({ status: 403, errorCode: 'FORBIDDEN' });
  });

  it('no answer in time is TIMEOUT, and nothing is left waiting', async () => {
    // Prepare: a server that never answers
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/prod/chatbot`;
    try {
      // Act
      const err = await new ChatbotClient({ url, apiKey: 'k', timeoutMs: 200 })
        .health()
        .catch((e: unknown) => e);
      // Assess
      expect(err).toMatchObject({ status: 0, errorCode: 'TIMEOUT' });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a refused connection is NETWORK_ERROR', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/prod/chatbot`;
    await new Promise<void>((r) => closed.close(() => r()));

    await expect(new ChatbotClient({ url, apiKey: 'k' }).health()).rejects.toMatchObject({
      status: 0,
      errorCode: 'NETWORK_ERROR',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('the key', () => {
  it('comes from CHATBOT_API_KEY (and the URL from CHATBOT_API_URL) when not passed', async () => {
    const fromEnv = new ChatbotClient({ env: { CHATBOT_API_URL: stack.url, CHATBOT_API_KEY: stack.apiKey } });

    expect((await fromEnv.health()).status).toBe('ok');
  });

  it('missing is an error naming the option and the variable', () => {
    expect(() => new ChatbotClient({ url: stack.url, env: {} })).toThrow(
      'ChatbotClient needs an API key: pass { apiKey } or set CHATBOT_API_KEY',
    );
  });

  it('never shows in the client printed, serialised or in its errors', async () => {
    const err = await client.call('no_such_intent').catch((e: unknown) => e as ChatbotApiError);
    const shown = [
      inspect(client, { depth: 5 }),
      JSON.stringify(client),
      String(err),
      inspect(err, { depth: 5 }),
    ];

    for (const text of shown) expect(text).not.toContain(stack.apiKey);
  });
});

describe('retries (full jitter, 429 and 5xx only)', () => {
  const KEY = 'stand-in-key-0123456789';

  async function standInClient(retries: number) {
    const standIn = await startApiStandIn('retryapi', KEY);
    const waits: number[] = [];
    const retrying = new ChatbotClient({
      url: standIn.url,
      apiKey: KEY,
      retries,
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
    });
    return { standIn, waits, retrying };
  }

  it.each([
    { status: 429, body: { message: 'Too Many Requests' } },
    {
      status: 503,
      body: {
        request_id: 'r1',
        success: false,
        error: 'Database unavailable',
        error_code: 'DATABASE_UNAVAILABLE',
      },
    },
  ])('retries a $status, then returns the 200', async (answer) => {
    const { standIn, waits, retrying } = await standInClient(2);
    try {
      standIn.script.push(answer);

      const data = await retrying.health();

      expect(data.status).toBe('ok');
      expect(standIn.seen).toHaveLength(2);
      // random() 0.5 of the first cap (400 ms)
      expect(waits).toEqual([200]);
    } finally {
      await standIn.close();
    }
  });

  it.each([
    {
      status: 400,
      body: { request_id: 'r2', success: false, error: 'top_n: bad', error_code: 'INVALID_PARAMS' },
      code: 'INVALID_PARAMS',
    },
    {
      status: 401,
      body: { request_id: 'r3', success: false, error: 'Unauthorized', error_code: 'UNAUTHORIZED' },
      code: 'UNAUTHORIZED',
    },
    { status: 403, body: { message: 'Forbidden' }, code: 'FORBIDDEN' },
  ])('never retries a $status', async ({ status, body, code }) => {
    const { standIn, waits, retrying } = await standInClient(3);
    try {
      standIn.script.push({ status, body });

      await expect(retrying.health()).rejects.toMatchObject({ status, errorCode: code, attempts: 1 });
      expect(standIn.seen).toHaveLength(1);
      expect(waits).toEqual([]);
    } finally {
      await standIn.close();
    }
  });

  it('gives up after the last retry with the last answer', async () => {
    const { standIn, waits, retrying } = await standInClient(2);
    try {
      const throttled = { status: 429, body: { message: 'Too Many Requests' } };
      standIn.script.push(throttled, throttled, throttled);

      await expect(retrying.health()).rejects.toMatchObject({
        status: 429,
        errorCode: 'TOO_MANY_REQUESTS',
        attempts: 3,
      });
      expect(waits).toEqual([200, 400]);
    } finally {
      await standIn.close();
    }
  });
});
