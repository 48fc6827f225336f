/**
 * The ingest function's database access: one small pool per container, made on first use from the
 * same settings the API function reads (DB_* or DB_SECRET_ARN, DB_SSL, TLS against the bundled RDS
 * authorities), and dropped after a failure so the next event starts on fresh connections. Unlike
 * the API function it writes, so it hands out a mysql2 pool for the shared loader (src/db/load.ts).
 */
import type { Connection, Pool } from 'mysql2/promise';
import { buildTlsOptions } from '../lambda/database.js';
import { type DbCredentials, readDbSecret, type SecretsClient } from '../lambda/secrets.js';
import type { DbSource } from '../lambda/settings.js';

/**
 * What the ingest function's database user needs: SELECT and INSERT to load; UPDATE because a load
 * adds its counts to the rollup rows (INSERT ... ON DUPLICATE KEY UPDATE); CREATE, ALTER, INDEX,
 * DELETE and DROP for `init`, which creates the tables, registers new rollup tables (emptying
 * them) and drops the ones a new version replaced.
 */
export const INGEST_DB_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX';

export class IngestDatabase {
  private poolPromise: Promise<Pool> | undefined;
  private credentialsPromise: Promise<DbCredentials> | undefined;

  constructor(
    private readonly source: DbSource,
    private readonly ssl: boolean | undefined,
    private readonly env: Record<string, string | undefined>,
    private readonly secretsClient?: SecretsClient,
  ) {}

  /** The credentials (the secret is read once per container; again after a failure). */
  credentials(): Promise<DbCredentials> {
    if (this.source.kind === 'env') return Promise.resolve(this.source);
    if (!this.credentialsPromise) {
      const reading = readDbSecret(this.source.secretId, this.env, this.secretsClient);
      this.credentialsPromise = reading;
      reading.catch(() => {
        if (this.credentialsPromise === reading) this.credentialsPromise = undefined;
      });
    }
    return this.credentialsPromise;
  }

  private async options(withDatabase: boolean) {
    const credentials = await this.credentials();
    const ssl = await buildTlsOptions(credentials.host, this.ssl);
    return {
      host: credentials.host,
      port: credentials.port,
      user: credentials.user,
      password: credentials.password,
      ...(withDatabase ? { database: credentials.database } : {}),
      ...(ssl ? { ssl } : {}),
      connectTimeout: 10_000,
      // DATETIME values are UTC: read and bind them as UTC, whatever TZ the runtime has.
      timezone: 'Z',
      supportBigNumbers: true,
      charset: 'utf8mb4',
    };
  }

  /** The pool on the configured database (made on first use, kept while the container is warm). */
  pool(): Promise<Pool> {
    if (!this.poolPromise) {
      const making = (async () => {
        const { createPool } = await import('mysql2/promise');
        // Two connections: the load holds one for its transaction; the other answers lookups.
        return createPool({ ...(await this.options(true)), connectionLimit: 2, maxIdle: 2 });
      })();
      this.poolPromise = making;
      making.catch(() => {
        if (this.poolPromise === making) this.poolPromise = undefined;
      });
    }
    return this.poolPromise;
  }

  /** A connection with no default database, for creating the database (`init`). */
  async serverConnection(): Promise<Connection> {
    const { createConnection } = await import('mysql2/promise');
    return createConnection(await this.options(false));
  }

  /**
   * Forget the pool (and a secret read from Secrets Manager): after a failed load its connections
   * may be dead, or the secret rotated. The next event makes new ones.
   */
  async reset(): Promise<void> {
    const pool = this.poolPromise;
    this.poolPromise = undefined;
    if (this.source.kind === 'secret') this.credentialsPromise = undefined;
    if (pool) await (await pool.catch(() => undefined))?.end().catch(() => {});
  }
}
