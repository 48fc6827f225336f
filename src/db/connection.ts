/**
 * Where the `db` commands connect, and opening that connection with errors a person can act on.
 * Order: the --db-* flags, then DB_* in the environment, then the running local stack (its caller
 * finds it: src/local/lifecycle.ts runningLocalDatabase), then the config's database section. The
 * password never comes from a flag (it would land in shell history and `ps`): DB_PASSWORD or the
 * variable the config names, or the local stack's state.
 */
import mysql from 'mysql2/promise';
import type { Context } from '../cli/context.js';
import { UserError } from '../errors.js';

/** A database and the login to it, as the local stack records it. */
export interface RecordedDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface DbFlags {
  dbHost?: string;
  dbPort?: string | number;
  dbUser?: string;
  dbName?: string;
}

export interface DbTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: boolean;
  source: 'flags' | 'env' | 'local' | 'config';
}

/** Connection flags every `db` subcommand takes (commander option definitions). */
export const DB_FLAG_OPTIONS: readonly (readonly [string, string])[] = [
  ['--db-host <host>', 'database host (default: DB_HOST, the local stack, the config)'],
  ['--db-port <port>', 'database port (default: DB_PORT or 3306)'],
  ['--db-user <user>', 'database user (default: DB_USER or the config); the password only from DB_PASSWORD'],
  ['--db-name <name>', 'database name (default: DB_NAME or the config, chatbot_db)'],
];

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parsePort(value: string | number, from: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UserError(`${from} must be a port number from 1 to 65535 (got "${value}")`, { exitCode: 2 });
  }
  return n;
}

/** DB_SSL: true/false (also 1/0, yes/no); unset means "TLS unless the host is loopback", as the backend reads it. */
function parseSsl(value: string | undefined, fallback: boolean | undefined, host: string): boolean {
  if (value === undefined || value === '') return fallback ?? !isLoopbackHost(host);
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new UserError(`DB_SSL must be true or false (got "${value}")`, { exitCode: 2 });
}

/**
 * Decide where to connect. Pure apart from reading the environment and the config; `localDb` is the
 * running local stack's database, when there is one.
 */
export function resolveDbTarget(
  ctx: Context,
  flags: DbFlags,
  options: { localDb?: RecordedDatabase | undefined } = {},
): DbTarget {
  const env = process.env;
  const config = ctx.config().database;
  const password = env[config.passwordEnv] ?? env.DB_PASSWORD ?? '';
  const explicitHost = flags.dbHost ?? env.DB_HOST;
  if (explicitHost) {
    const host = explicitHost;
    return {
      host,
      port:
        flags.dbPort !== undefined
          ? parsePort(flags.dbPort, '--db-port')
          : env.DB_PORT
            ? parsePort(env.DB_PORT, 'DB_PORT')
            : config.port,
      user: flags.dbUser ?? env.DB_USER ?? config.user,
      password,
      database: flags.dbName ?? env.DB_NAME ?? config.name,
      ssl: parseSsl(env.DB_SSL, config.ssl, host),
      source: flags.dbHost ? 'flags' : 'env',
    };
  }
  const local = options.localDb;
  if (local) {
    return {
      host: local.host,
      port: flags.dbPort !== undefined ? parsePort(flags.dbPort, '--db-port') : local.port,
      user: flags.dbUser ?? local.user,
      password: flags.dbUser && flags.dbUser !== local.user ? password : local.password,
      database: flags.dbName ?? local.database,
      ssl: parseSsl(env.DB_SSL, undefined, local.host),
      source: 'local',
    };
  }
  if (config.host) {
    return {
      host: config.host,
      port: flags.dbPort !== undefined ? parsePort(flags.dbPort, '--db-port') : config.port,
      user: flags.dbUser ?? config.user,
      password,
      database: flags.dbName ?? config.name,
      ssl: parseSsl(env.DB_SSL, config.ssl, config.host),
      source: 'config',
    };
  }
  throw new UserError('no database to connect to', {
    hint:
      'Pass --db-host (and --db-user, --db-name) with DB_PASSWORD in the environment, set DB_HOST, ' +
      'start the local stack with `chatbot-ops local up`, or set database.host in the config file.',
    exitCode: 2,
  });
}

/** `user@host:port/database`: safe to print (no password). */
export function describeDbTarget(target: DbTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.user}@${host}:${target.port}/${target.database}`;
}

/**
 * TLS settings: RDS hosts are verified against the RDS certificate authorities mysql2 ships
 * ("Amazon RDS" profile); any other host against the system's trusted CAs.
 */
function sslOption(target: DbTarget): string | mysql.SslOptions | undefined {
  if (!target.ssl) return undefined;
  if (/\.rds\.amazonaws\.com(\.cn)?$/i.test(target.host)) return 'Amazon RDS';
  return { rejectUnauthorized: true };
}

/** Turn a driver error into what went wrong and what to do; the password never appears. */
export function connectionError(err: unknown, target: DbTarget): UserError {
  const e = err as { code?: string; message?: string };
  const where = `${target.host}:${target.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
      return new UserError(`cannot connect to the database at ${where} (${e.code})`, {
        hint:
          'Is the server running and listening there? For RDS, does its security group allow port ' +
          `${target.port} from this machine? (The local stack: \`chatbot-ops local up\`.)`,
        cause: err,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`cannot resolve the database host "${target.host}"`, {
        hint: 'Check --db-host / DB_HOST / database.host in the config.',
        cause: err,
      });
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return new UserError(`the database refused user "${target.user}" at ${where}`, {
        hint: 'Check the user name and DB_PASSWORD (the password is read only from the environment).',
        cause: err,
      });
    case 'ER_BAD_DB_ERROR':
      return new UserError(`database "${target.database}" does not exist on ${where}`, {
        hint: 'Create it and its tables with `chatbot-ops db init`.',
        cause: err,
      });
    case 'HANDSHAKE_NO_SSL_SUPPORT':
    case 'HANDSHAKE_SSL_ERROR':
      return new UserError(`TLS to the database at ${where} failed`, {
        hint: 'The server does not offer TLS or its certificate is not trusted; DB_SSL=false turns TLS off (only on a trusted network).',
        cause: err,
      });
    default:
      if (typeof e.code === 'string' && /^(ERR_TLS|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO|CERT_)/.test(e.code)) {
        return new UserError(`TLS to the database at ${where} failed (${e.code})`, {
          hint: 'The server certificate is not trusted; DB_SSL=false turns TLS off (only on a trusted network).',
          cause: err,
        });
      }
      return new UserError(`database error at ${where}: ${e.code ?? e.message ?? String(err)}`, {
        cause: err,
      });
  }
}

/**
 * Open a small pool on the target and check it answers, so connection problems surface here as
 * UserErrors. Sessions run in UTC. `withoutDatabase` connects with no default database (db init).
 */
export async function openPool(
  target: DbTarget,
  options: { withoutDatabase?: boolean } = {},
): Promise<mysql.Pool> {
  const ssl = sslOption(target);
  const pool = mysql.createPool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ...(options.withoutDatabase ? {} : { database: target.database }),
    ...(ssl === undefined ? {} : { ssl }),
    timezone: 'Z',
    connectTimeout: 10_000,
    connectionLimit: 4,
    supportBigNumbers: true,
    charset: 'utf8mb4_unicode_ci',
  });
  // timezone 'Z' covers values the driver converts; the session zone covers NOW() and friends on the server.
  pool.on('connection', (conn) => {
    (conn as unknown as { query(sql: string): unknown }).query("SET time_zone = '+00:00'");
  });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw connectionError(err, target);
  }
  return pool;
}

/**
 * Run one query on a connection of its own, giving up after `timeoutMs` whatever the server does
 * (a stopped server accepts the connection and never answers): its rows, or undefined.
 */
export async function answersWithin(
  options: mysql.ConnectionOptions,
  sql: string,
  timeoutMs: number,
): Promise<unknown[] | undefined> {
  let opened: mysql.Connection | undefined;
  let gaveUp = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = (async () => {
    const conn = await mysql.createConnection({ ...options, connectTimeout: timeoutMs });
    opened = conn;
    try {
      if (gaveUp) return undefined;
      const [rows] = await conn.query(sql);
      return rows as unknown[];
    } finally {
      conn.destroy();
    }
  })().catch(() => undefined);
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    gaveUp = true;
    clearTimeout(timer);
    // A connection still waiting for its answer would keep this process alive.
    (opened as mysql.Connection | undefined)?.destroy();
  }
}
