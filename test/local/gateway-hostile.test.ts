/**
 * The API Gateway stand-in against hostile requests (issue 16): header and query names like object
 * methods (a property test), malformed HTTP answered as JSON, bytes that are not UTF-8 passed to the
 * function as they came, load shed with API Gateway's 429, and a line with the request id in the
 * function log for every 504 and container timeout.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyEvent } from '../../src/local/gateway.js';
import type { LocalStack } from '../../src/local/stack.js';
import { maxQueueWait } from '../../src/local/stack.js';
import { postWithHeaders, rawRequest } from '../support/raw-http.js';
import { post, type StackFixture, stackFixture } from './stack-fixture.js';

let fixture: StackFixture;

beforeAll(async () => {
  fixture = await stackFixture('gw_hostile');
});

afterAll(async () => {
  await fixture?.stopAll();
});

const HEALTH = JSON.stringify({ intent: 'health' });
/** Names a plain object answers from its prototype. */
const OBJECT_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'prototype',
];
/** Headers that change what the request is (its framing, its key, its connection): not for random use. */
const FRAMING = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'x-api-key',
  'connection',
  'expect',
  'upgrade',
]);

describe('header and query names like object methods', () => {
  let stack: LocalStack;
  const events: ProxyEvent[] = [];
  beforeAll(async () => {
    stack = await fixture.start({
      usagePlan: { rateLimit: 5000, burstLimit: 5000 },
      onEvent: (e) => events.push(e),
    });
  });

  it.each(OBJECT_NAMES)('a header and a query parameter named %s: 200, passed on as sent', async (name) => {
    // Act
    const res = await postWithHeaders(
      `${stack.url}?${encodeURIComponent(name)}=q1&${encodeURIComponent(name)}=q2`,
      [
        ['x-api-key', stack.apiKey],
        ['content-type', 'application/json'],
        [name, 'h1'],
      ],
      HEALTH,
    );

    // Assess
    expect(res.status).toBe(200);
    const event = events.find((e) => e.requestContext.requestId === res.headers['x-amzn-requestid']);
    expect(event).toBeDefined();
    const e = event as ProxyEvent;
    expect(Object.hasOwn(e.headers ?? {}, name)).toBe(true);
    expect(e.headers?.[name]).toBe('h1');
    expect(e.multiValueHeaders?.[name]).toEqual(['h1']);
    expect(e.queryStringParameters?.[name]).toBe('q2');
    expect(e.multiValueQueryStringParameters?.[name]).toEqual(['q1', 'q2']);
  });

  it('property: any header and query names with the key and a good body never get a 5xx', async () => {
    const tchar = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/);
    const headerName = fc
      .oneof(fc.constantFrom(...OBJECT_NAMES), tchar)
      .filter((n) => !FRAMING.has(n.toLowerCase()));
    const headerValue = fc.stringMatching(/^[ -~]{0,40}$/).map((v) => v.trim());
    const queryName = fc.oneof(fc.constantFrom(...OBJECT_NAMES), fc.string({ maxLength: 20 }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
        fc.array(fc.tuple(queryName, fc.string({ maxLength: 10 })), { maxLength: 6 }),
        async (headerPairs, queryPairs) => {
          // Prepare
          const query = new URLSearchParams(queryPairs).toString();

          // Act
          const res = await postWithHeaders(
            `${stack.url}${query ? `?${query}` : ''}`,
            [['x-api-key', stack.apiKey], ['content-type', 'application/json'], ...headerPairs],
            HEALTH,
          );

          // Assess
          expect(res.status, res.text).toBe(200);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});

describe('malformed HTTP gets a JSON answer, as every other answer', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await fixture.start({});
  });

  const path = () => `/${stack.stage}/${stack.resource}`;
  it.each([
    {
      what: 'a method Node does not know',
      request: () => `FOO ${path()} HTTP/1.1\r\nHost: x\r\n\r\n`,
      status: 403,
      message: 'Missing Authentication Token',
    },
    {
      what: 'a method in lower case',
      request: () => `post ${path()} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`,
      status: 403,
      message: 'Missing Authentication Token',
    },
    {
      what: 'CONNECT',
      request: () => 'CONNECT 127.0.0.1:3306 HTTP/1.1\r\nHost: 127.0.0.1:3306\r\n\r\n',
      status: 403,
      message: 'Missing Authentication Token',
    },
    {
      what: 'a folded header line (obs-fold)',
      request: () => `POST ${path()} HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}`,
      status: 400,
      message: 'Bad Request',
    },
    {
      what: 'headers over 16 KB',
      request: () => `POST ${path()} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      message: 'Request Header Fields Too Large',
    },
    {
      what: 'a TLS handshake sent to the HTTP port',
      request: () => Buffer.from('16030100a5010000a10303', 'hex'),
      status: 400,
      message: 'Bad Request',
    },
    {
      what: 'a request target no URL parser reads',
      request: () => 'POST http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}',
      status: 400,
      message: 'Bad Request',
    },
    {
      what: 'Content-Length and Transfer-Encoding together',
      request: () =>
        `POST ${path()} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      message: 'Bad Request',
    },
  ])('$what: $status $message', async ({ request, status, message }) => {
    // Act
    const r = await rawRequest(stack.port, request());

    // Assess
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual({ message });
    expect(r.headers['x-amzn-errortype']).toMatch(/Exception$/);
    expect(r.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('a body that is not UTF-8', () => {
  it("reaches the function's own check as the bytes sent (base64), which answers INVALID_JSON", async () => {
    // Prepare: valid JSON around a byte that is no UTF-8, so only a byte-exact check refuses it.
    const events: ProxyEvent[] = [];
    const stack = await fixture.start({ onEvent: (e) => events.push(e) });
    const bytes = Buffer.concat([Buffer.from('{"intent":"health'), Buffer.from([0xff]), Buffer.from('"}')]);

    // Act
    const res = await fetch(stack.url, {
      method: 'POST',
      headers: { 'x-api-key': stack.apiKey, 'content-type': 'application/json' },
      body: bytes,
    });
    const json = (await res.json()) as Record<string, unknown>;

    // Assess
    expect(res.status).toBe(400);
    expect(json).toMatchObject({ success: false, error_code: 'INVALID_JSON' });
    expect(events.at(-1)).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
  });

  it('a UTF-8 body is still passed as text', async () => {
    const events: ProxyEvent[] = [];
    const stack = await fixture.start({ onEvent: (e) => events.push(e) });
    const body = JSON.stringify({ intent: 'health', note: 'café ✓' });
    const r = await post(stack.url, body, stack.apiKey);
    expect(r.status).toBe(200);
    expect(events.at(-1)).toMatchObject({ isBase64Encoded: false, body });
  });
});

describe('load shedding through the stand-in', () => {
  it('waits at most the integration timeout minus the query timeout, at least a second', () => {
    expect(maxQueueWait(29_000, 25_000)).toBe(4000);
    expect(maxQueueWait(29_000, 28_500)).toBe(1000);
    expect(maxQueueWait(300, 25_000)).toBe(300);
  });

  it('answers 429 Too Many Requests when no container frees up in time, and logs it; health still answers', async () => {
    // Prepare: one container for ordinary events (the other is kept for light ones), each event
    // taking 2.5 s, and a 1 s wait for a container (the floor, since the query timeout exceeds
    // the integration timeout). The integration timeout leaves the running event 3.5 s beyond its
    // 2.5 s for its cold start and query, so a busy machine does not turn it into a 504.
    const lines: string[] = [];
    const stack = await fixture.start({
      containers: 2,
      extraLatencyMs: 2500,
      integrationTimeoutMs: 6000,
      onLog: (l) => lines.push(l),
    });
    const summary = { intent: 'get_traffic_summary' };

    // Act
    const running = post(stack.url, summary, stack.apiKey);
    await new Promise((r) => setTimeout(r, 300));
    const shed = await post(stack.url, summary, stack.apiKey);
    const health = await post(stack.url, { intent: 'health' }, stack.apiKey);

    // Assess
    expect(shed.status).toBe(429);
    expect(shed.json).toEqual({ message: 'Too Many Requests' });
    expect(shed.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
    expect(health.status).toBe(200);
    expect((await running).status).toBe(200);
    const logged = lines.filter((l) => l.includes('"source":"api-gateway"')).map((l) => JSON.parse(l));
    expect(logged).toContainEqual(
      expect.objectContaining({ request_id: shed.headers.get('x-amzn-requestid'), level: 'WARN' }),
    );
  });
});

describe('every 504 and container timeout leaves a line with the request id in the function log', () => {
  it('a 504 at the integration timeout: the line names the request id the client got', async () => {
    // Prepare
    const lines: string[] = [];
    const stack = await fixture.start({
      integrationTimeoutMs: 300,
      extraLatencyMs: 1500,
      onLog: (l) => lines.push(l),
    });

    // Act
    const r = await post(stack.url, { intent: 'get_traffic_summary' }, stack.apiKey);

    // Assess
    expect(r.status).toBe(504);
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.source === 'api-gateway');
    expect(line).toMatchObject({
      level: 'ERROR',
      message: '504 Endpoint request timed out after 300 ms',
      request_id: r.headers.get('x-amzn-requestid'),
      lambda_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it("a function timeout: the runtime's line and the stand-in's 502 line share the Lambda request id", async () => {
    // Prepare
    const lines: string[] = [];
    const stack = await fixture.start({
      functionTimeoutS: 1,
      extraLatencyMs: 1500,
      containers: 1,
      onLog: (l) => lines.push(l),
    });

    // Act
    const r = await post(stack.url, { intent: 'health' }, stack.apiKey);

    // Assess
    expect(r.status).toBe(502);
    const parsed = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const gateway = parsed.find((l) => l.source === 'api-gateway');
    const runtime = parsed.find((l) => l.source === 'lambda');
    expect(gateway).toMatchObject({
      request_id: r.headers.get('x-amzn-requestid'),
      cause: 'Sandbox.Timedout',
    });
    expect(runtime).toMatchObject({
      level: 'ERROR',
      request_id: gateway.lambda_request_id,
      message: expect.stringMatching(/^Task timed out after 1\.00 seconds/),
    });
  });

  it('an event still waiting at the integration timeout is dropped, never run, and the line says so', async () => {
    // Prepare: one container, busy for 2 s; the stand-in gives up after 500 ms.
    const lines: string[] = [];
    const stack = await fixture.start({
      containers: 1,
      extraLatencyMs: 2000,
      integrationTimeoutMs: 500,
      onLog: (l) => lines.push(l),
    });
    const first = post(stack.url, { intent: 'health' }, stack.apiKey);
    await new Promise((r) => setTimeout(r, 100));

    // Act
    const second = await post(stack.url, { intent: 'health' }, stack.apiKey);
    await first;

    // Assess
    expect(second.status).toBe(504);
    const line = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.request_id === second.headers.get('x-amzn-requestid'));
    expect(line).toMatchObject({ lambda_request_id: null, dropped: expect.stringMatching(/never started/) });
  });
});
