import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  backoffDelayMs,
  callApi,
  isRetryable,
  withRetries,
} from '../../src/client/api-client.js';
import { explainFailure } from '../../src/client/explain.js';
import type { ApiTarget } from '../../src/client/target.js';

/** A server answering from a script of statuses, recording the keys it was sent. */
let server: Server;
let url: string;
let script: number[];
let seenKeys: (string | undefined)[];

beforeAll(async () => {
  server = createServer((req, res) => {
    seenKeys.push(req.headers['x-api-key'] as string | undefined);
    req.resume();
    const status = script.shift() ?? 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 200 ? { success: true, data: {} } : { message: 'Too Many Requests' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/prod/chatbot`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  script = [];
  seenKeys = [];
});

describe('callApi', () => {
  const noWait = { sleep: async () => {}, random: () => 0.5 };

  it('sends the key in x-api-key, or no header at all for null', async () => {
    await callApi(url, '{}', { apiKey: 'k1', ...noWait });
    await callApi(url, '{}', { apiKey: null, ...noWait });
    expect(seenKeys).toEqual(['k1', undefined]);
  });

  it('does not retry unless asked', async () => {
    script = [429, 200];
    const r = await callApi(url, '{}', { apiKey: 'k', ...noWait });
    expect([r.status, r.attempts]).toEqual([429, 1]);
  });

  it('retries 429 and 5xx up to --retry times, waiting the backoff', async () => {
    // Prepare
    script = [429, 503, 200];
    const waits: number[] = [];
    // Act
    const r = await callApi(url, '{}', {
      apiKey: 'k',
      retries: 3,
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
    });
    // Assess
    expect([r.status, r.attempts]).toEqual([200, 3]);
    expect(waits).toEqual([backoffDelayMs(1, () => 0.5), backoffDelayMs(2, () => 0.5)]);
  });

  it('never retries a 4xx other than 429', async () => {
    script = [400, 200];
    const r = await callApi(url, '{}', { apiKey: 'k', retries: 3, ...noWait });
    expect([r.status, r.attempts]).toEqual([400, 1]);
  });

  it('gives up after the last retry with the last answer', async () => {
    script = [500, 500, 500];
    const r = await callApi(url, '{}', { apiKey: 'k', retries: 2, ...noWait });
    expect([r.status, r.attempts]).toEqual([500, 3]);
  });
});

describe('withRetries', () => {
  it('counts attempts and waits the growing backoff between them, never after the last', async () => {
    // Prepare: an operation that fails twice then succeeds
    const answers = [503, 429, 200];
    const waits: number[] = [];
    let calls = 0;
    // Act
    const out = await withRetries(
      async () => {
        calls++;
        return answers.shift() as number;
      },
      isRetryable,
      5,
      { sleep: async (ms) => void waits.push(ms), random: () => 0.75 },
    );
    // Assess
    expect(out).toEqual({ answer: 200, attempts: 3 });
    expect(calls).toBe(3);
    expect(waits).toEqual([300, 600]);
  });

  it('makes exactly one attempt with no retries', async () => {
    const waits: number[] = [];
    const out = await withRetries(async () => 503, isRetryable, 0, {
      sleep: async (ms) => void waits.push(ms),
    });
    expect(out).toEqual({ answer: 503, attempts: 1 });
    expect(waits).toEqual([]);
  });
});

describe('backoffDelayMs', () => {
  it.each([
    { attempt: 1, cap: 400 },
    { attempt: 3, cap: 1600 },
    { attempt: 10, cap: 10_000 },
  ])('attempt $attempt waits up to $cap ms with full jitter', ({ attempt, cap }) => {
    expect(backoffDelayMs(attempt, () => 0)).toBe(0);
    expect(backoffDelayMs(attempt, () => 0.999999)).toBe(cap - 1);
  });
});

describe('explainFailure', () => {
  const plan = { rateLimit: 100, burstLimit: 200, quotaLimit: 100000, quotaPeriod: 'MONTH' };
  const aws: ApiTarget = {
    url: 'https://x.execute-api.us-east-1.amazonaws.com/prod/chatbot',
    apiKey: 'k',
    source: 'aws',
    usagePlan: plan,
  };
  const answer = (status: number, json: unknown, headers: Record<string, string> = {}): ApiResponse => ({
    status,
    headers,
    text: JSON.stringify(json),
    json,
    ms: 1,
    attempts: 1,
  });

  it.each([
    {
      status: 403,
      json: { message: 'Forbidden' },
      message:
        /refused the key sent in x-api-key: it is not an enabled key of a usage plan attached to this stage/,
      hint: /doctor/,
    },
    {
      status: 403,
      json: { message: 'Missing Authentication Token' },
      message: /no POST method/,
      hint: /stage/,
    },
    {
      status: 401,
      json: { success: false, error: 'Unauthorized', error_code: 'UNAUTHORIZED' },
      message: /not in the function's API_KEYS/,
      hint: /doctor/,
    },
    {
      status: 429,
      json: { message: 'Too Many Requests' },
      message: /throttled.*100 requests\/s with bursts of 200/,
      hint: /--retry/,
    },
    {
      status: 429,
      json: { message: 'Limit Exceeded' },
      message: /quota.*100,000 requests per month/,
      hint: /next period/,
    },
    { status: 504, json: { message: 'Endpoint request timed out' }, message: /29 s/, hint: /doctor/ },
    {
      status: 503,
      json: {
        request_id: 'req-42',
        success: false,
        error: 'Database unavailable',
        error_code: 'DATABASE_UNAVAILABLE',
      },
      message: /503 Database unavailable \(DATABASE_UNAVAILABLE\) \[request id req-42\]/,
      hint: /chatbot-ops logs --filter req-42/,
    },
  ])('$status $json.message$json.error', ({ status, json, message, hint }) => {
    const why = explainFailure(answer(status, json, { 'x-amzn-requestid': 'gw-1' }), aws);
    expect(why.message).toMatch(message);
    expect(why.hint).toMatch(hint);
  });

  it('says a 403 came from the missing header when no key was sent', () => {
    const why = explainFailure(answer(403, { message: 'Forbidden' }), aws, { keySent: false });
    expect(why.message).toBe(
      '403 Forbidden: API Gateway refused the request: no x-api-key header was sent, and the method requires an API key',
    );
  });

  it('gives the 429 without limits when the plan is not known (--url)', () => {
    const why = explainFailure(answer(429, { message: 'Too Many Requests' }), {
      url: 'https://api.example.com/chatbot',
      apiKey: 'k',
      source: 'url',
    });
    expect(why.message).toBe('429 Too Many Requests: throttled by the usage plan');
  });

  it("points at the local stack's log file for a local 5xx", () => {
    const local: ApiTarget = { url: 'http://127.0.0.1:3000/prod/chatbot', apiKey: 'k', source: 'local' };
    const why = explainFailure(
      answer(500, {
        request_id: 'req-9',
        success: false,
        error: 'internal error',
        error_code: 'INTERNAL_ERROR',
      }),
      local,
    );
    expect(why).toEqual({
      message: '500 internal error (INTERNAL_ERROR) [request id req-9]',
      hint: "See the function's log for it: grep req-9 .chatbot-ops/local/function.log",
    });
  });

  it("uses API Gateway's request id when the function gave none", () => {
    const why = explainFailure(
      answer(502, { message: 'Internal server error' }, { 'x-amzn-requestid': 'gw-7' }),
      aws,
    );
    expect(why.hint).toBe("See the function's log for it: chatbot-ops logs --filter gw-7");
  });
});
