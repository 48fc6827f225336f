import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyEvent } from '../../src/local/gateway.js';
import { INTEGRATION_TIMEOUT_MS, MAX_BODY_BYTES } from '../../src/local/gateway.js';
import type { LocalStack } from '../../src/local/stack.js';
import { post, SEEDED_ROWS, type StackFixture, stackFixture } from './stack-fixture.js';

let fixture: StackFixture;

beforeAll(async () => {
  fixture = await stackFixture('gateway');
});

afterAll(async () => {
  await fixture?.stopAll();
});

const health = { intent: 'health' };

describe('the API Gateway stand-in in front of the packaged function', () => {
  let stack: LocalStack;
  const events: ProxyEvent[] = [];

  beforeAll(async () => {
    stack = await fixture.start({
      usagePlan: { rateLimit: 1000, burstLimit: 2000 },
      onEvent: (e) => events.push(e),
    });
  });

  it('passes a keyed POST to the function and returns its answer with API Gateway headers', async () => {
    const r = await post(
      stack.url,
      { intent: 'get_traffic_summary', params: { all_time: true } },
      stack.apiKey,
    );
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, data: { total_requests: SEEDED_ROWS } });
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('x-request-id')).toBe(r.json.request_id);
    expect(r.headers.get('x-amzn-trace-id')).toMatch(/^Root=1-/);
  });

  it.each([
    {
      what: 'GET on the resource',
      path: '',
      method: 'GET',
      key: 'valid',
      status: 403,
      message: 'Missing Authentication Token',
      type: 'MissingAuthenticationTokenException',
    },
    {
      what: 'an unknown resource',
      path: '/other',
      method: 'POST',
      key: 'valid',
      status: 403,
      message: 'Missing Authentication Token',
      type: 'MissingAuthenticationTokenException',
    },
    {
      what: 'another stage',
      path: 'stage:dev',
      method: 'POST',
      key: 'valid',
      status: 403,
      message: 'Missing Authentication Token',
      type: 'MissingAuthenticationTokenException',
    },
    {
      what: 'no x-api-key',
      path: '',
      method: 'POST',
      key: 'none',
      status: 403,
      message: 'Forbidden',
      type: 'ForbiddenException',
    },
    {
      what: 'a key not in the plan',
      path: '',
      method: 'POST',
      key: 'wrong',
      status: 403,
      message: 'Forbidden',
      type: 'ForbiddenException',
    },
  ])('answers $what with $status $message', async ({ path, method, key, status, message, type }) => {
    const url = path.startsWith('stage:')
      ? stack.url.replace(`/${stack.stage}/`, `/${path.slice(6)}/`)
      : `${stack.url}${path}`;
    const r = await post(
      url,
      health,
      key === 'valid' ? stack.apiKey : key === 'wrong' ? 'x'.repeat(40) : null,
      { method },
    );
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ message });
    expect(r.headers.get('x-amzn-errortype')).toBe(type);
  });

  it("passes the function's own 400 through", async () => {
    const r = await post(stack.url, { intent: 'no_such_intent' }, stack.apiKey);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ success: false, error_code: 'UNKNOWN_INTENT' });
  });

  it('refuses a body over 10 MB with 413 before the function sees it', async () => {
    const seen = events.length;
    const r = await post(stack.url, 'x'.repeat(MAX_BODY_BYTES + 1), stack.apiKey);
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ message: 'Request Too Long' });
    expect(events.length).toBe(seen);
  });

  it('builds the proxy event as API Gateway does', async () => {
    // Prepare: a request with a query string and a header sent twice.
    const body = JSON.stringify(health);
    const url = new URL(`${stack.url}?a=1&a=2&b=x`);
    // Act
    const requestId = await new Promise<string>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            'X-Api-Key': stack.apiKey,
            'X-Custom': ['one', 'two'],
            'User-Agent': 'event-test/1.0',
            'Content-Type': 'application/json',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.headers['x-amzn-requestid'])));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    // Assess
    const event = events.find((e) => e.requestContext.requestId === requestId) as ProxyEvent;
    expect(event).toMatchObject({
      resource: '/chatbot',
      path: '/chatbot',
      httpMethod: 'POST',
      queryStringParameters: { a: '2', b: 'x' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x'] },
      pathParameters: null,
      stageVariables: null,
      body,
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({
      'X-Api-Key': stack.apiKey,
      'X-Custom': 'two',
      'User-Agent': 'event-test/1.0',
    });
    expect(event.multiValueHeaders).toMatchObject({ 'X-Custom': ['one', 'two'] });
    expect(event.requestContext).toMatchObject({
      resourcePath: '/chatbot',
      httpMethod: 'POST',
      path: '/prod/chatbot',
      stage: 'prod',
      identity: {
        sourceIp: '127.0.0.1',
        apiKey: stack.apiKey,
        apiKeyId: stack.apiKeyId,
        userAgent: 'event-test/1.0',
      },
    });
    expect(event.requestContext.requestTimeEpoch).toEqual(expect.any(Number));
    expect(event.requestContext.requestTime).toMatch(
      /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/,
    );
  });
});

describe('usage plan throttle (rate 10, burst 20)', () => {
  const counts = (statuses: number[]) => ({
    admitted: statuses.filter((s) => s === 200).length,
    throttled: statuses.filter((s) => s === 429).length,
  });

  it('admits exactly the burst of 100 concurrent requests, then the rate as time passes', async () => {
    // Prepare: the gateway's clock stands still unless the test moves it.
    let now = Date.UTC(2026, 0, 15, 12);
    const stack = await fixture.start({ usagePlan: { rateLimit: 10, burstLimit: 20 }, now: () => now });
    // Act: a burst, then 3 simulated seconds of 5 requests every 100 ms.
    const burst = await Promise.all(Array.from({ length: 100 }, () => post(stack.url, health, stack.apiKey)));
    const sustained: number[] = [];
    for (let step = 0; step < 30; step++) {
      now += 100;
      const wave = await Promise.all(Array.from({ length: 5 }, () => post(stack.url, health, stack.apiKey)));
      sustained.push(...wave.map((r) => r.status));
    }
    // Assess
    expect(counts(burst.map((r) => r.status))).toEqual({ admitted: 20, throttled: 80 });
    expect(burst.find((r) => r.status === 429)?.json).toEqual({ message: 'Too Many Requests' });
    expect(counts(sustained)).toEqual({ admitted: 30, throttled: 120 });
  });

  it('refills at the rate on the real clock: a second burst about a second later admits about 10', async () => {
    // Prepare: the real clock. The bounds come from times observed around each burst, so a slow
    // machine widens them instead of failing the test.
    const stack = await fixture.start({ usagePlan: { rateLimit: 10, burstLimit: 20 } });
    const burst = async () => {
      const start = Date.now();
      const statuses = (
        await Promise.all(Array.from({ length: 100 }, () => post(stack.url, health, stack.apiKey)))
      ).map((r) => r.status);
      return { start, end: Date.now(), statuses };
    };
    // Act
    const first = await burst();
    await new Promise((r) => setTimeout(r, 1000));
    const second = await burst();
    // Assess: the first takes the full bucket (plus what refills while it runs); the second gets what
    // 10/s refilled in between, never more than the burst plus its own refill.
    const tokens = (ms: number, edge: 'floor' | 'ceil') => Math[edge]((ms / 1000) * 10);
    const initial = counts(first.statuses).admitted;
    expect(initial).toBeGreaterThanOrEqual(20);
    expect(initial).toBeLessThanOrEqual(20 + tokens(first.end - first.start, 'ceil'));
    const refilled = counts(second.statuses).admitted;
    expect(refilled).toBeGreaterThanOrEqual(Math.min(20, tokens(second.start - first.end, 'floor')));
    expect(refilled).toBeLessThanOrEqual(
      Math.min(20 + tokens(second.end - second.start, 'ceil'), 1 + tokens(second.end - first.start, 'ceil')),
    );
    expect(refilled + counts(second.statuses).throttled).toBe(100);
  });
});

describe('usage plan quota', () => {
  it('answers 429 Limit Exceeded once the quota is used up', async () => {
    const stack = await fixture.start({ usagePlan: { quotaLimit: 5, quotaPeriod: 'DAY' } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(stack.url, health, stack.apiKey)).status);
    const over = await post(stack.url, health, stack.apiKey);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(over.status).toBe(429);
    expect(over.json).toEqual({ message: 'Limit Exceeded' });
    expect(over.headers.get('x-amzn-errortype')).toBe('LimitExceededException');
  });
});

describe('integration timeout', () => {
  it('is 29 s by default', () => {
    expect(INTEGRATION_TIMEOUT_MS).toBe(29_000);
  });

  it('answers 504 when the function is slower than the integration timeout', async () => {
    const stack = await fixture.start({ integrationTimeoutMs: 300, extraLatencyMs: 1500 });
    const r = await post(stack.url, health, stack.apiKey);
    expect(r.status).toBe(504);
    expect(r.json).toEqual({ message: 'Endpoint request timed out' });
    expect(r.headers.get('x-amzn-errortype')).toBe('IntegrationTimeoutException');
  });

  it('answers 502 Internal server error when the function itself times out first, and the next call gets a fresh container', async () => {
    // Prepare: a function timeout (1 s) shorter than its latency (1.5 s), under the 29 s integration timeout.
    const stack = await fixture.start({ functionTimeoutS: 1, extraLatencyMs: 1500, containers: 1 });
    const before = stack.runtime.pids();
    // Act
    const r = await post(stack.url, health, stack.apiKey);
    // Assess: API Gateway's answer to a failed Lambda invocation; the timed-out container was ended.
    expect(r.status).toBe(502);
    expect(r.json).toEqual({ message: 'Internal server error' });
    expect(r.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
    expect(before).toHaveLength(1);
    expect(stack.runtime.pids()).not.toContain(before[0]);
  });
});
