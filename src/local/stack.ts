/**
 * The whole backend on 127.0.0.1 (SPEC 3): a database (private MariaDB unless a server is named), the
 * packaged zip run as Lambda runs it, and the API Gateway stand-in in front. `local up` and the tests
 * both start it through `startLocalStack`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { type ChatbotConfig, defaultConfig } from '../config.js';
import { loadLogs } from '../db/load.js';
import { backfillRollups, clearAccessLogs } from '../db/rollup-maintenance.js';
import { applySchema } from '../db/schema.js';
import { seedTraffic } from '../db/seed.js';
import { type MariaDbServer, portInUse, startMariaDb } from '../db/server.js';
import { UserError } from '../errors.js';
import { hashApiKey } from '../lambda/api-keys.js';
import { buildLambdaZip, type LambdaZip } from '../package/bundle.js';
import { unzipToDir } from '../package/unzip.js';
import { type Gateway, type ProxyEvent, startGateway } from './gateway.js';
import { type InvokeResult, LambdaRuntime } from './lambda-runtime.js';
import { localStateDir } from './state.js';
import type { Clock } from './usage-plan-limiter.js';

/** Administrative access to an existing server (the stack then creates its database and user there). */
export interface DbServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface LocalStackOptions {
  /** Names, usage plan, limits, log level and defaults (`local.port`, `local.rows`); default the built-in config. */
  config?: ChatbotConfig;
  /** Folder for the private database, the bundle and the unpacked code; default .chatbot-ops/local. */
  stateDir?: string;
  /** Project root holding src/lambda; default this installation's. */
  root?: string;
  /** Gateway port; 0 picks a free one. Default config.local.port. */
  port?: number;
  /** An existing server; default a private MariaDB under stateDir/mariadb. */
  server?: DbServer;
  /**
   * Create a least-privilege user with a random password for the function (default). False: the function
   * logs in with the server's own credentials (an existing server the user named through DB_*).
   */
  createUser?: boolean;
  database?: string;
  dbUser?: string;
  /** Seed this many rows when the table is empty (default config.local.rows). */
  rows?: number;
  /** Empty the table and seed `rows` even when it holds data. */
  reseed?: boolean;
  /** Load these access-log files instead of seeding. */
  load?: string[];
  /** Keep the private MariaDB running when this process exits (`local up --detach`). */
  detachedDb?: boolean;
  /** Concurrent Lambda containers. */
  containers?: number;
  apiKey?: string;
  integrationTimeoutMs?: number;
  /** Tests only: latency the runtime adds before each invocation. */
  extraLatencyMs?: number;
  /** Tests only: false disables the stand-in's API key check. */
  checkApiKey?: boolean;
  /** Tests only: the gateway's clock for throttle and quota. */
  now?: Clock;
  /** Tests only: sees each event the stand-in sends to the function. */
  onEvent?: (event: ProxyEvent) => void;
  onProgress?: (message: string) => void;
  /** The function's log lines (its CloudWatch log, locally). */
  onLog?: (line: string) => void;
}

export interface LocalStack {
  url: string;
  port: number;
  apiKey: string;
  apiKeyId: string;
  stage: string;
  resource: string;
  usagePlan: ChatbotConfig['usagePlan'];
  db: { host: string; port: number; user: string; password: string; database: string; managed: boolean };
  mariadbPid: number | undefined;
  rows: number;
  zip: LambdaZip;
  runtime: LambdaRuntime;
  /** Stop the gateway, the containers and (when the stack started it) the database. */
  stop(): Promise<void>;
}

/** API Gateway keys are 40 letters and digits; ours look the same. */
export function generateApiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(40)].map((b) => alphabet[b % alphabet.length]).join('');
}

const quoteUser = (user: string) => `${mysql.escape(user)}@'127.0.0.1'`;

/** Create the database and (optionally) the function's user; returns the function's credentials. */
async function prepareDatabase(
  server: DbServer,
  database: string,
  user: string | undefined,
): Promise<{ user: string; password: string }> {
  const admin = await mysql.createConnection({ ...server });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4`);
    if (user === undefined) return { user: server.user, password: server.password };
    // A new password every `up`: it lives only in state.json (0600) and the function's environment.
    const password = randomBytes(18).toString('base64url');
    await admin.query(`CREATE USER IF NOT EXISTS ${quoteUser(user)} IDENTIFIED BY ?`, [password]);
    await admin.query(`ALTER USER ${quoteUser(user)} IDENTIFIED BY ?`, [password]);
    // The function only reads; seeding and loading use the administrative connection.
    await admin.query(`GRANT SELECT ON ${mysql.escapeId(database)}.* TO ${quoteUser(user)}`);
    return { user, password };
  } finally {
    await admin.end();
  }
}

async function fillDatabase(
  pool: mysql.Pool,
  options: LocalStackOptions,
  rows: number,
  progress: (m: string) => void,
) {
  await applySchema(pool);
  if (options.load && options.load.length > 0) {
    progress(`loading ${options.load.join(', ')}`);
    const report = await loadLogs(pool, options.load, {});
    if (report.errors > 0) progress(`${report.errors} lines could not be parsed and were skipped`);
  } else {
    const [counted] = await pool.query('SELECT COUNT(*) AS n FROM access_logs');
    const existing = Number((counted as { n: number }[])[0]?.n ?? 0);
    if (options.reseed || existing === 0) {
      if (existing > 0) await clearAccessLogs(pool);
      progress(`seeding ${rows.toLocaleString('en-US')} rows of sample traffic`);
      await seedTraffic(pool, { rows, days: 7, end: new Date() });
    }
  }
  // A stack kept from before rollups existed: count its rows into them once (a reseed leaves none).
  await backfillRollups(pool, {
    onProgress: (p) =>
      progress(
        `building rollups: ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')} rows`,
      ),
  });
  const [after] = await pool.query('SELECT COUNT(*) AS n FROM access_logs');
  return Number((after as { n: number }[])[0]?.n ?? 0);
}

/** Start the local stack; resolves once the gateway answers and a warm container has loaded the handler. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = options.config ?? defaultConfig();
  const progress = options.onProgress ?? (() => {});
  const stateDir = options.stateDir ?? localStateDir();
  const port = options.port ?? config.local.port;
  if (port !== 0 && (await portInUse(port))) {
    throw new UserError(`port ${port} on 127.0.0.1 is already in use`, {
      hint: 'Stop what uses it, or choose another port with --port (or local.port in the config).',
    });
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    let mariadb: MariaDbServer | undefined;
    let server = options.server;
    if (!server) {
      progress('starting a private MariaDB');
      mariadb = await startMariaDb({
        baseDir: join(stateDir, 'mariadb'),
        keep: true,
        detached: options.detachedDb ?? false,
      });
      const started = mariadb;
      cleanups.push(() => started.stop());
      server = { host: mariadb.host, port: mariadb.port, user: mariadb.user, password: mariadb.password };
    }
    const database = options.database ?? config.database.name;
    const createUser = options.createUser ?? true;
    const login = await prepareDatabase(
      server,
      database,
      createUser ? (options.dbUser ?? config.database.user) : undefined,
    );

    const pool = mysql.createPool({ ...server, database, timezone: 'Z', connectionLimit: 4 });
    cleanups.push(() => pool.end());
    const rows = await fillDatabase(pool, options, options.rows ?? config.local.rows, progress);
    await pool.end();
    cleanups.pop();

    progress('packaging the function');
    const zip = await buildLambdaZip({
      outDir: join(stateDir, 'bundle'),
      ...(options.root ? { root: options.root } : {}),
    });
    const taskDir = join(stateDir, 'task');
    rmSync(taskDir, { recursive: true, force: true });
    mkdirSync(taskDir, { recursive: true });
    await unzipToDir(zip.zip, taskDir);
    // Lambda's /var/task has no package.json, so .js is CommonJS there. Under the project's folder the
    // nearest package.json says "module"; this marker restores Lambda's reading of the file.
    writeFileSync(join(taskDir, 'package.json'), '{"type":"commonjs"}\n');

    const apiKey = options.apiKey ?? generateApiKey();
    const apiKeyId = randomBytes(5).toString('hex');
    const runtime = new LambdaRuntime({
      taskDir,
      handler: 'lambda_function.lambda_handler',
      environment: {
        DB_HOST: server.host,
        DB_PORT: String(server.port),
        DB_NAME: database,
        DB_USER: login.user,
        DB_PASSWORD: login.password,
        DB_SSL: 'false',
        API_KEYS: hashApiKey(apiKey),
        MAX_PAYLOAD_SIZE: String(config.limits.maxPayloadSize),
        MAX_QUERY_LIMIT: String(config.limits.maxQueryLimit),
        QUERY_TIMEOUT_MS: String(config.limits.queryTimeoutMs),
        LOG_LEVEL: config.logLevel,
      },
      functionName: config.function.name,
      region: config.region ?? 'us-east-1',
      memoryMb: config.function.memory,
      timeoutMs: config.function.timeout * 1000,
      maxContainers: options.containers ?? 4,
      ...(options.onLog ? { onLog: options.onLog } : {}),
      ...(options.extraLatencyMs ? { extraLatencyMs: options.extraLatencyMs } : {}),
    });
    cleanups.push(() => runtime.stop());
    progress('starting the function');
    await runtime.warm();

    const invoke = (event: ProxyEvent): Promise<InvokeResult> => {
      options.onEvent?.(event);
      return runtime.invoke(event);
    };
    const gateway: Gateway = await startGateway({
      port,
      stage: config.api.stage,
      resource: config.api.resource,
      keys: [{ id: apiKeyId, value: apiKey }],
      usagePlan: config.usagePlan,
      invoke,
      ...(options.integrationTimeoutMs ? { integrationTimeoutMs: options.integrationTimeoutMs } : {}),
      ...(options.checkApiKey === false ? { checkApiKey: false } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    cleanups.push(() => gateway.close());

    return {
      url: gateway.url,
      port: gateway.port,
      apiKey,
      apiKeyId,
      stage: config.api.stage,
      resource: config.api.resource,
      usagePlan: config.usagePlan,
      db: { host: server.host, port: server.port, ...login, database, managed: mariadb !== undefined },
      mariadbPid: mariadb?.pid,
      rows,
      zip,
      runtime,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
