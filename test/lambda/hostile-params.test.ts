/**
 * Parameters and events an adversarial run found mishandled (issue 16): years 0000-0099 read as
 * 1900-1999, an IPv4-mapped IPv6 address that found none of the rows the loader stored for its
 * IPv4 spelling, and request data named like object methods (`__proto__`, `constructor`) as header
 * names and parameter names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/lambda/cursor.js';
import { parseEvent } from '../../src/lambda/event.js';
import type { BackendHandler } from '../../src/lambda/index.js';
import { parseIsoTime } from '../../src/lambda/params.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  API_KEY,
  answer,
  backendEnv,
  createAppUser,
  FIXTURE,
  handlerWithLog,
  insertRows,
  proxyEvent,
} from './support.js';

let db: TestDatabase;
let handler: BackendHandler;

beforeAll(async () => {
  db = await createTestDatabase('lambda_hostile');
  await insertRows(db.pool, FIXTURE);
  handler = handlerWithLog({ env: backendEnv(db, await createAppUser(db)) }).handler;
});

afterAll(async () => {
  await handler?.close();
  await db?.drop();
});

const ask = async (intent: string, params: Record<string, unknown>) =>
  answer(await handler({ intent, params }));

describe('years 0000-0099 in start_time / end_time', () => {
  it.each([
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['0050-06-15T12:30:00Z', '0050-06-15T12:30:00.000Z'],
    ['0099-12-31', '0099-12-31T00:00:00.000Z'],
    ['0004-02-29T00:00:00+01:00', '0004-02-28T23:00:00.000Z'],
  ])('%s is that year, not 19xx', (text, iso) => {
    expect(parseIsoTime(text)?.toISOString()).toBe(iso);
  });

  it('refuses 29 February of a year 00xx that has none, as for any year', () => {
    expect(parseIsoTime('0001-02-29')).toBeUndefined();
  });

  it('a window in year 50 is echoed as year 50 and holds none of the rows of 2024', async () => {
    // Act
    const r = await ask('get_traffic_summary', {
      start_time: '0050-01-01T00:00:00Z',
      end_time: '0099-12-31T00:00:00Z',
    });

    // Assess
    expect(r.status).toBe(200);
    expect(r.data.window).toEqual({ start: '0050-01-01T00:00:00.000Z', end: '0099-12-31T00:00:00.000Z' });
    expect(r.data.total_requests).toBe(0);
  });

  it('a window from year 1 to 2100 holds every row', async () => {
    const r = await ask('get_traffic_summary', {
      start_time: '0001-01-01T00:00:00Z',
      end_time: '2100-01-01T00:00:00Z',
    });
    expect(r.status).toBe(200);
    expect(r.data.total_requests).toBe(FIXTURE.length);
  });
});

describe('ip_address in the spellings the loader normalises', () => {
  it.each([
    ['IPv4-mapped IPv6', '::ffff:10.0.0.1'],
    ['IPv4-mapped IPv6, upper case', '::FFFF:10.0.0.1'],
    ['bracketed', '[::ffff:10.0.0.1]'],
  ])('%s finds the rows stored as the IPv4 address', async (_name, spelling) => {
    // Prepare
    const plain = await ask('get_access_logs', { ip_address: '10.0.0.1', all_time: true });

    // Act
    const mapped = await ask('get_access_logs', { ip_address: spelling, all_time: true });
    const activity = await ask('get_ip_activity', { ip_address: spelling, all_time: true });

    // Assess
    expect(plain.data.count).toBeGreaterThan(0);
    expect(mapped.data.logs).toEqual(plain.data.logs);
    expect(activity.data).toMatchObject({ ip_address: '10.0.0.1', total_requests: plain.data.count });
  });

  it('still refuses what is no address', async () => {
    const r = await ask('get_access_logs', { ip_address: '::ffff:999.0.0.1' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/^ip_address: must be an IPv4 or IPv6 address/);
  });
});

describe('request data named like object methods', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype'];

  it.each(NAMES)('a header named %s beside the key: the key is found, the answer is 200', async (name) => {
    // Prepare: the event as JSON, as it crosses from API Gateway (a literal would make __proto__ a prototype).
    const event = JSON.parse(
      JSON.stringify(proxyEvent({ intent: 'health' })).replace(
        '"headers":{',
        `"headers":{${JSON.stringify(name)}:"1",`,
      ),
    );

    // Act
    const parsed = parseEvent(event, 1024);
    const r = answer(await handler(event));

    // Assess
    expect(Object.hasOwn(event.headers, name)).toBe(true);
    expect(parsed.apiKeys).toContain(API_KEY);
    expect(parsed.apiKeys.every((k) => k === API_KEY)).toBe(true);
    expect(r.status).toBe(200);
  });

  it.each(NAMES)('a parameter named %s is an unknown parameter (400), never a 500', async (name) => {
    // Act
    const r = answer(
      await handler(JSON.parse(`{"intent":"get_access_logs","params":{${JSON.stringify(name)}:1}}`)),
    );

    // Assess
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error_code: 'INVALID_PARAMS' });
  });

  it.each(NAMES)('an intent named %s is an unknown intent', async (name) => {
    const r = answer(await handler({ intent: name }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error_code: 'UNKNOWN_INTENT' });
  });
});

describe('a cursor changed in any character', () => {
  it('is refused, even where the change decodes to the same signature bytes', () => {
    // Prepare: a 16-byte signature is 22 base64url characters whose last one has 4 bits no byte
    // uses; flipping its lowest bit changes the text and not the bytes.
    const key = Buffer.alloc(32, 7);
    const cursor = encodeCursor(key, 'binding', {
      position: { timestamp: new Date('2024-05-01T00:00:00Z'), id: 42 },
      window: null,
    });
    const last = cursor.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    const changed = `${cursor.slice(0, -1)}${sibling}`;

    // Act, Assess
    expect(Buffer.from(changed.split('.')[1] as string, 'base64url')).toEqual(
      Buffer.from(cursor.split('.')[1] as string, 'base64url'),
    );
    expect(decodeCursor(key, 'binding', cursor).position.id).toBe(42);
    expect(() => decodeCursor(key, 'binding', changed)).toThrow(/cursor/);
  });
});
