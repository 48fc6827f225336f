/**
 * The backend's configuration: the environment variables the function reads (docs/backend.md,
 * "Configuration"), written by `environmentFor` (for `deploy` and for `local up`, so both give the
 * function the same variables) and read once per container by `readSettings`. Reading never throws:
 * problems are collected so the handler can log them once and answer INTERNAL_ERROR "backend
 * misconfigured" instead of crashing the container in a loop.
 */
import { isIP } from 'node:net';
import { hashApiKey, parseApiKeys } from './api-keys.js';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Where the database credentials come from. */
export type DbSource =
  | { kind: 'env'; host: string; port: number; database: string; user: string; password: string }
  | { kind: 'secret'; secretId: string };

export interface Settings {
  db: DbSource;
  /** DB_SSL when set; otherwise TLS is decided from the host (on unless loopback). */
  dbSsl: boolean | undefined;
  /** SHA-256 digests of the accepted API keys; empty means every API Gateway call is refused. */
  apiKeyDigests: Buffer[];
  maxPayloadSize: number;
  maxQueryLimit: number;
  queryTimeoutMs: number;
  logLevel: LogLevel;
  /** SITE_HOSTS, lower-case: the site's own hosts, whose referrals get_referrers leaves out. */
  siteHosts: string[];
}

export type SettingsResult =
  | { ok: true; settings: Settings; warnings: string[] }
  | { ok: false; problems: string[]; logLevel: LogLevel };

const LOG_LEVELS: Record<string, LogLevel> = {
  DEBUG: 'DEBUG',
  INFO: 'INFO',
  WARN: 'WARN',
  WARNING: 'WARN',
  ERROR: 'ERROR',
};

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

type Env = Record<string, string | undefined>;

/** A DNS name (RDS endpoints are), each label letters, digits, - or _ (some private zones use it). */
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * Why `host` cannot be the database host, or undefined when it can: a host name or an IP address,
 * nothing else. A URL (`mysql://db...:3306`) or `host:port` pasted from a console would otherwise be
 * handed to the driver as a name that never resolves. Shared by the config check, `deploy
 * --interactive` and the function itself (DB_HOST), so all three refuse the same values.
 */
export function databaseHostProblem(host: string): string | undefined {
  const h = host.trim();
  if (h === '') return 'is empty';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(h))
    return 'is a URL: give the host name alone, without a scheme such as mysql://';
  if (isIP(h) !== 0 || HOST_NAME.test(h)) return undefined;
  if (/^[^:]+:\d+$/.test(h)) return 'includes a port: give the host name alone (the port is set on its own)';
  return 'must be a host name or an IP address (no user, path, port or spaces)';
}

/**
 * Where the database is and how to reach it: DB_SECRET_ARN, or DB_HOST / DB_PORT / DB_NAME /
 * DB_USER / DB_PASSWORD; and DB_SSL. Shared by the API function and the ingest function.
 */
export function readDatabaseSettings(env: Env): {
  db: DbSource | undefined;
  dbSsl: boolean | undefined;
  problems: string[];
  warnings: string[];
} {
  const problems: string[] = [];
  const warnings: string[] = [];
  const set = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  let db: DbSource | undefined;
  const secretId = set('DB_SECRET_ARN');
  if (secretId !== undefined) {
    db = { kind: 'secret', secretId };
    // DB_HOST / DB_PORT / DB_NAME still fill what an RDS-managed secret (username and password only) lacks.
    const ignored = ['DB_USER', 'DB_PASSWORD'].filter((n) => env[n] !== undefined);
    if (ignored.length > 0) warnings.push(`DB_SECRET_ARN is set, so ${ignored.join(' and ')} are ignored`);
  } else {
    const host = set('DB_HOST');
    const database = set('DB_NAME');
    const user = set('DB_USER');
    // A password may legitimately contain leading/trailing spaces; only its absence is an error.
    const password = env.DB_PASSWORD;
    const rawPort = set('DB_PORT');
    const port = rawPort === undefined ? 3306 : Number(rawPort);
    if (rawPort !== undefined && (!/^\d+$/.test(rawPort) || port < 1 || port > 65535))
      problems.push('DB_PORT must be a whole number from 1 to 65535');
    for (const [name, value] of [
      ['DB_HOST', host],
      ['DB_NAME', database],
      ['DB_USER', user],
      ['DB_PASSWORD', password],
    ] as const) {
      if (value === undefined)
        problems.push(`${name} is not set (set DB_HOST, DB_NAME, DB_USER, DB_PASSWORD or DB_SECRET_ARN)`);
    }
    const hostProblem = host === undefined ? undefined : databaseHostProblem(host);
    if (hostProblem) problems.push(`DB_HOST ${hostProblem}`);
    if (
      host !== undefined &&
      !hostProblem &&
      database !== undefined &&
      user !== undefined &&
      password !== undefined
    )
      db = { kind: 'env', host, port, database, user, password };
  }

  let dbSsl: boolean | undefined;
  const rawSsl = set('DB_SSL')?.toLowerCase();
  if (rawSsl !== undefined) {
    if (TRUE_WORDS.has(rawSsl)) dbSsl = true;
    else if (FALSE_WORDS.has(rawSsl)) dbSsl = false;
    else problems.push('DB_SSL must be true or false');
  }

  return { db, dbSsl, problems, warnings };
}

/** The parts of the chatbot-ops config the function's environment is made from. */
export interface EnvironmentSource {
  database: {
    host?: string | undefined;
    port: number;
    name: string;
    user: string;
    secretArn?: string | undefined;
    ssl?: boolean | undefined;
  };
  limits: { maxPayloadSize: number; maxQueryLimit: number; queryTimeoutMs: number };
  logLevel: string;
  siteHosts?: readonly string[];
}

/**
 * The function's environment: the database settings (or the secret's ARN), API_KEYS as `sha256:`
 * hashes so the configuration never shows a usable key, the limits and the log level.
 * `dbPassword` undefined with no secret means "unknown here": DB_PASSWORD is left out.
 */
export function environmentFor(
  config: EnvironmentSource,
  secrets: { dbPassword: string | undefined; apiKeyValues: readonly string[] },
): Record<string, string> {
  const db = config.database;
  const database: Record<string, string> = db.secretArn
    ? { DB_SECRET_ARN: db.secretArn }
    : {
        DB_HOST: db.host ?? '',
        DB_PORT: String(db.port),
        DB_NAME: db.name,
        DB_USER: db.user,
        ...(secrets.dbPassword !== undefined ? { DB_PASSWORD: secrets.dbPassword } : {}),
      };
  return {
    ...database,
    ...(db.ssl !== undefined ? { DB_SSL: String(db.ssl) } : {}),
    API_KEYS: [...new Set(secrets.apiKeyValues.map(hashApiKey))].sort().join(','),
    MAX_PAYLOAD_SIZE: String(config.limits.maxPayloadSize),
    MAX_QUERY_LIMIT: String(config.limits.maxQueryLimit),
    QUERY_TIMEOUT_MS: String(config.limits.queryTimeoutMs),
    LOG_LEVEL: config.logLevel,
    ...(config.siteHosts && config.siteHosts.length > 0 ? { SITE_HOSTS: config.siteHosts.join(',') } : {}),
  };
}

/** Read and validate the backend's settings. Messages name the variable, never its value. */
export function readSettings(env: Env): SettingsResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const set = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = set(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };

  const rawLevel = set('LOG_LEVEL');
  const logLevel = rawLevel === undefined ? 'INFO' : LOG_LEVELS[rawLevel.toUpperCase()];
  if (logLevel === undefined) problems.push('LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR');

  const database = readDatabaseSettings(env);
  problems.push(...database.problems);
  warnings.push(...database.warnings);
  const { db, dbSsl } = database;

  const keys = parseApiKeys(env.API_KEYS);
  problems.push(...keys.problems);
  if (keys.problems.length === 0 && keys.digests.length === 0)
    warnings.push('API_KEYS is empty: every call through API Gateway will be refused with 401');

  const maxPayloadSize = integer('MAX_PAYLOAD_SIZE', 1048576, 1, 6 * 1024 * 1024);
  const maxQueryLimit = integer('MAX_QUERY_LIMIT', 1000, 1, 100000);
  // Upper bound: Lambda's own 15-minute maximum run time.
  const queryTimeoutMs = integer('QUERY_TIMEOUT_MS', 25000, 1, 900000);

  const siteHosts = (set('SITE_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (siteHosts.some((h) => !/^[a-z0-9.-]{1,253}$/.test(h)))
    problems.push('SITE_HOSTS must be host names separated by commas, such as example.com,www.example.com');

  if (problems.length > 0 || db === undefined || logLevel === undefined)
    return { ok: false, problems, logLevel: logLevel ?? 'INFO' };
  return {
    ok: true,
    settings: {
      db,
      dbSsl,
      apiKeyDigests: keys.digests,
      maxPayloadSize,
      maxQueryLimit,
      queryTimeoutMs,
      logLevel,
      siteHosts,
    },
    warnings,
  };
}
