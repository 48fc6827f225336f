/**
 * Property-based (fast-check): whatever arrives, through API Gateway or directly, the handler
 * answers JSON with a request id, never a 500, never a stack trace, SQL, a host, a user, the
 * database password or an API key. Runs are bounded so the file stays a few seconds long.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendHandler, ProxyResult } from '../../src/lambda/index.js';
import { INTENTS } from '../../src/lambda/intents/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  API_KEY,
  type AppUser,
  backendEnv,
  createAppUser,
  FIXTURE,
  handlerWithLog,
  insertRows,
} from './support.js';

const MAX_PAYLOAD = 4096;
/** Statuses a request may get while the database is up and fast. */
const CLIENT_STATUSES = [200, 400, 401, 405, 413];

let db: TestDatabase;
let user: AppUser;
let handler: BackendHandler;

beforeAll(async () => {
  db = await createTestDatabase('lambda_props');
  await insertRows(db.pool, FIXTURE);
  user = await createAppUser(db);
  handler = handlerWithLog({
    env: backendEnv(db, user, { MAX_PAYLOAD_SIZE: String(MAX_PAYLOAD) }),
  }).handler;
});

afterAll(async () => {
  await handler?.close();
  await db?.drop();
});

const intentNames = INTENTS.map((i) => i.name);
const paramNames = [...new Set(INTENTS.flatMap((i) => Object.keys(i.params)))];

/** Values a chatbot might plausibly send, and some it should not. */
const paramValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '10.0.0.1',
    '2001:db8::7',
    '/api/users',
    '/api/',
    'GET',
    'post',
    'hour',
    'minute',
    'day',
    '2024-05-01T00:00:00Z',
    '2024-04-30',
    '2024-02-30T00:00:00',
    'true',
    '50',
    '-1',
    "' OR 1=1 --",
    'AAAA.BBBB',
  ),
  fc.integer({ min: -10, max: 10_000 }),
  fc.boolean(),
);

/** A request body: mostly well-formed {intent, params}, sometimes anything at all. */
const requestBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        intent: fc.oneof(
          fc.constantFrom(...intentNames),
          fc.string({ maxLength: 80 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        params: fc.oneof(
          fc.dictionary(fc.oneof(fc.constantFrom(...paramNames), fc.string({ maxLength: 20 })), paramValue, {
            maxKeys: 5,
          }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const bodyText = fc.oneof(
  { weight: 4, arbitrary: requestBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  // Bodies around MAX_PAYLOAD_SIZE.
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_PAYLOAD - 4, max: MAX_PAYLOAD + 4 }).map((n) => 'x'.repeat(n)),
  },
);

const headerName = fc.oneof(
  fc.constantFrom('x-api-key', 'X-Api-Key', 'X-API-KEY', 'content-type', 'Content-Length', 'accept'),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const headerValue = fc.oneof(fc.constant(API_KEY), fc.string({ maxLength: 60 }), fc.constant(''));

/** Headers: usually carrying the right key under some spelling, sometimes anything. */
const headers = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('x-api-key', 'X-Api-Key', 'X-API-KEY'),
        fc.dictionary(headerName, headerValue, { maxKeys: 2 }),
      )
      .map(([name, rest]) => ({ ...rest, [name]: API_KEY })),
  },
  { weight: 2, arbitrary: fc.dictionary(headerName, headerValue, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const proxyEventArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    httpMethod: fc.oneof(
      { weight: 4, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('post', 'GET', 'OPTIONS', 'DELETE') },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    headers,
    multiValueHeaders: fc.oneof(
      fc.constant(null),
      fc.dictionary(headerName, fc.array(headerValue, { maxLength: 2 }), { maxKeys: 3 }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    body: fc.oneof({ weight: 8, arbitrary: bodyText }, { weight: 1, arbitrary: fc.constant(null) }),
    isBase64Encoded: fc.boolean(),
    requestContext: fc.constant({ stage: 'prod', resourcePath: '/chatbot', httpMethod: 'POST' }),
  })
  .map((event) => ({
    ...event,
    body:
      event.isBase64Encoded && typeof event.body === 'string'
        ? Buffer.from(event.body, 'utf8').toString('base64')
        : event.body,
  }));

const context = fc.oneof(
  fc.constant(undefined),
  fc.record({ awsRequestId: fc.oneof(fc.uuid(), fc.constant('')) }),
);

function expectSafeAnswer(result: ProxyResult) {
  expect(CLIENT_STATUSES).toContain(result.statusCode);
  expect(result.headers['Content-Type']).toBe('application/json');
  const body = JSON.parse(result.body) as Record<string, unknown>;
  expect(typeof body.request_id).toBe('string');
  expect(body.request_id).not.toBe('');
  expect(result.headers['X-Request-Id']).toBe(body.request_id);
  expect(typeof body.success).toBe('boolean');
  if (body.success === false) {
    expect(typeof body.error).toBe('string');
    expect(typeof body.error_code).toBe('string');
  }
  const text = result.body;
  expect(text).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|node_modules|\.ts:\d+/);
  expect(text).not.toMatch(/\bSELECT\b|\bFROM access_logs\b|\bWHERE\b|max_statement_time/);
  expect(text).not.toContain(user.password);
  expect(text).not.toContain(user.user);
  expect(text).not.toContain(db.database);
  expect(text).not.toContain(`${db.host}:`);
  expect(text).not.toContain(API_KEY);
}

/** Seeds for the generators: one event per outcome, so each is reached on every run, not by chance. */
function exampleEvent(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    httpMethod: 'POST',
    headers: { 'x-api-key': API_KEY },
    multiValueHeaders: null,
    body: JSON.stringify({ intent: 'get_traffic_summary', params: { all_time: true } }),
    isBase64Encoded: false,
    requestContext: { stage: 'prod', resourcePath: '/chatbot', httpMethod: 'POST' },
    ...overrides,
  };
}

const PROXY_EXAMPLES: [Record<string, unknown>, undefined][] = [
  [exampleEvent({}), undefined],
  [exampleEvent({ body: '{"intent":' }), undefined],
  [exampleEvent({ headers: { 'X-Api-Key': 'nope' } }), undefined],
  [exampleEvent({ httpMethod: 'GET' }), undefined],
  [exampleEvent({ body: 'x'.repeat(MAX_PAYLOAD + 1) }), undefined],
];

describe('any request', () => {
  it('through API Gateway: a safe JSON answer', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(proxyEventArb, context, async (event, ctx) => {
        const result = await handler(event, ctx);
        seen.add(result.statusCode);
        expectSafeAnswer(result);
      }),
      { numRuns: 300, examples: PROXY_EXAMPLES },
    );
    // The generators reach every outcome, including answers from the database.
    expect([...seen].sort()).toEqual(CLIENT_STATUSES);
  });

  it('as a direct invocation: a safe JSON answer', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 5, arbitrary: requestBody }, fc.anything()),
        context,
        async (event, ctx) => {
          const result = await handler(event, ctx);
          seen.add(result.statusCode);
          expectSafeAnswer(result);
        },
      ),
      {
        numRuns: 300,
        examples: [
          [{ intent: 'get_access_logs', params: { ip_address: '10.0.0.1', all_time: true } }, undefined],
          [{ intent: 'get_access_logs', params: { ip_address: 'not-an-ip' } }, undefined],
        ],
      },
    );
    expect([...seen].sort()).toEqual([200, 400]);
  });

  it('with the right key and a known intent: never 401, 405 or 413', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...intentNames),
        fc.dictionary(fc.constantFrom(...paramNames), paramValue, { maxKeys: 3 }),
        fc.constantFrom('x-api-key', 'X-Api-Key', 'X-API-KEY'),
        async (intent, params, keyHeader) => {
          const result = await handler({
            httpMethod: 'POST',
            headers: { [keyHeader]: API_KEY },
            body: JSON.stringify({ intent, params }),
            isBase64Encoded: false,
          });
          expectSafeAnswer(result);
          const body = JSON.parse(result.body) as { error_code?: string };
          // Only the params can be wrong here.
          expect([200, 400]).toContain(result.statusCode);
          if (result.statusCode === 400) expect(body.error_code).toBe('INVALID_PARAMS');
        },
      ),
      { numRuns: 200 },
    );
  });
});
