import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/database.js';

describe('test MariaDB', () => {
  it('applies the schema idempotently on a private server', async () => {
    const db = await createTestDatabase('smoke');
    await db.pool.query((await import('./support/database.js')).SCHEMA_SQL);
    const [rows] = await db.pool.query('SHOW INDEX FROM access_logs');
    expect((rows as { Key_name: string }[]).map((r) => r.Key_name)).toContain('idx_ip_timestamp');
    await db.drop();
  });
});
