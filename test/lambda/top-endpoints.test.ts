/**
 * Windowed top endpoints are grouped on checksums of the path (src/lambda/intents/top-endpoints.ts).
 * Two paths whose checksums both collide must still be counted apart: this builds such a pair
 * (CRC32 is affine over GF(2), so a collision is a linear system) and checks the answers.
 */
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendHandler } from '../../src/lambda/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  type AppUser,
  answer,
  backendEnv,
  createAppUser,
  type FixtureRow,
  handlerWithLog,
  insertRows,
} from './support.js';

const reversed = (bytes: Buffer) => Buffer.from(bytes).reverse();
const checksums = (bytes: Buffer) => (BigInt(crc32(bytes)) << 32n) | BigInt(crc32(reversed(bytes)));

/**
 * Two different paths of letters d..g with equal CRC32 and equal CRC32 of the reversed text. Each
 * flippable bit changes the 64-bit pair of checksums by a fixed vector; a set of bits whose vectors
 * XOR to zero (found by elimination: 128 bits, 64 dimensions) is a collision.
 */
function collidingPaths(): [string, string] {
  const base = Buffer.from(`/${'d'.repeat(64)}`, 'latin1');
  const basis = new Map<number, { vector: bigint; bits: bigint }>();
  for (let bit = 0; bit < 128; bit++) {
    const flipped = Buffer.from(base);
    flipped[1 + (bit >> 1)]! ^= 1 << (bit & 1);
    let vector = checksums(base) ^ checksums(flipped);
    let bits = 1n << BigInt(bit);
    while (vector !== 0n) {
      const top = vector.toString(2).length - 1;
      const pivot = basis.get(top);
      if (!pivot) {
        basis.set(top, { vector, bits });
        break;
      }
      vector ^= pivot.vector;
      bits ^= pivot.bits;
    }
    if (vector === 0n) {
      const other = Buffer.from(base);
      for (let b = 0; b < 128; b++) if ((bits >> BigInt(b)) & 1n) other[1 + (b >> 1)]! ^= 1 << (b & 1);
      return [base.toString('latin1'), other.toString('latin1')];
    }
  }
  throw new Error('no collision found');
}

const [A, B] = collidingPaths();
const C = '/c';
const NOW = new Date('2024-05-01T12:00:00.000Z');

const rowsOf = (endpoint: string, count: number, status: number, firstMinute: number): FixtureRow[] =>
  Array.from({ length: count }, (_, i) => ({
    ts: `2024-05-01 10:${String(firstMinute + i).padStart(2, '0')}:00.000`,
    ip: '10.0.0.1',
    method: 'GET',
    endpoint,
    qs: null,
    status,
    bytes: 1,
    rt: 10,
    referrer: null,
    ua: null,
  }));

let db: TestDatabase;
let user: AppUser;
let handler: BackendHandler;

beforeAll(async () => {
  db = await createTestDatabase('lambda_top');
  // B first, so a merged group would be named after A or B depending on ids, never silently right.
  await insertRows(db.pool, [...rowsOf(B, 2, 500, 0), ...rowsOf(A, 3, 200, 10), ...rowsOf(C, 4, 200, 20)]);
  user = await createAppUser(db);
  handler = handlerWithLog({ env: backendEnv(db, user), now: () => NOW }).handler;
});

afterAll(async () => {
  await handler?.close();
  await db?.drop();
});

describe('top endpoints with colliding checksums', () => {
  it('the two paths differ, yet MariaDB gives both checksums equal', async () => {
    const [[row]] = (await db.pool.query(
      'SELECT CRC32(?) = CRC32(?) AS forward, CRC32(REVERSE(?)) = CRC32(REVERSE(?)) AS backward',
      [A, B, A, B],
    )) as unknown as [{ forward: number; backward: number }[]];

    expect(A).not.toBe(B);
    expect(row).toEqual({ forward: 1, backward: 1 });
  });

  it('get_traffic_summary counts each path on its own', async () => {
    const result = answer(await handler({ intent: 'get_traffic_summary', params: { top_n: 2 } }));

    expect(result.data.top_endpoints).toEqual({ [C]: 4, [A]: 3 });
    expect(Object.keys(result.data.top_endpoints as object)).toEqual([C, A]);
  });

  it('get_endpoint_stats ranks and measures each path on its own', async () => {
    const result = answer(await handler({ intent: 'get_endpoint_stats', params: { top_n: 3 } }));

    expect(result.data.endpoints).toEqual([
      expect.objectContaining({ endpoint: C, requests: 4, errors: 0 }),
      expect.objectContaining({ endpoint: A, requests: 3, errors: 0 }),
      expect.objectContaining({ endpoint: B, requests: 2, errors: 2, error_rate: 1 }),
    ]);
  });
});
