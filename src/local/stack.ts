/**
 * The whole backend on 127.0.0.1 (docs/local.md, `local up`): a database (private MariaDB unless a server is named), the
 * packaged zip run as Lambda runs it, and the API Gateway stand-in in front. `local up` and the tests
 * both start it through `startLocalStack`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import mysql from 'mysql2/promise';
import { type ChatbotConfig, defaultConfig } from '../config.js';
import { loadLogs } from '../db/load.js';
import { backfillRollups, clearAccessLogs } from '../db/rollup-maintenance.js';
import { applySchema } from '../db/schema.js';
import { seedTraffic } from '../db/seed.js';
import { portInUse, type StartOptions, startMariaDb } from '../db/server.js';
import { countAccessLogs } from '../db/stats.js';
import { UserError } from '../errors.js';
import { generateApiKeyValue } from '../lambda/api-keys.js';
import { environmentFor } from '../lambda/settings.js';
import { buildLambdaZip, type LambdaZip } from '../package/bundle.js';
import { unzipToDir } from '../package/unzip.js';
import { DatabaseWatchdog, type WatchdogEvent, type WatchdogTuning } from './db-watchdog.js';
import {
  type Gateway,
  INTEGRATION_TIMEOUT_MS,
  type InvokeControl,
  type ProxyEvent,
  startGateway,
} from './gateway.js';
import { type LocalIngest, startLocalIngest } from './ingest-stack.js';
import { type InvokeResult, LambdaRuntime } from './lambda-runtime.js';
import { isLightEvent } from './light-events.js';
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
  /** How the private MariaDB is watched and restarted (see db-watchdog.ts); false: not watched. */
  watchDatabase?: Partial<WatchdogTuning> | false;
  /** What the watch over the private MariaDB saw: a death, a restart, a freeze, giving up. */
  onDatabaseEvent?: (event: WatchdogEvent) => void;
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
  /** False leaves out the ingest chain (S3 endpoint, ingest function, Lambda Invoke API); default on. */
  ingest?: boolean;
  /** Tests only: pauses between the retries of a failed ingest event (default LOCAL_RETRY_DELAYS_MS). */
  ingestRetryDelaysMs?: number[];
}

/** A database login (user and password). */
export interface DbLogin {
  user: string;
  password: string;
}

export interface LocalStack {
  url: string;
  port: number;
  apiKey: string;
  apiKeyId: string;
  stage: string;
  resource: string;
  usagePlan: ChatbotConfig['usagePlan'];
  /**
   * The function's login (`user`, `password`: SELECT only when the stack created it) and the
   * writer login the stack keeps for loading and seeding (never the function's, never root).
   */
  db: {
    host: string;
    port: number;
    user: string;
    password: string;
    writer: DbLogin;
    database: string;
    managed: boolean;
  };
  /** The private MariaDB's pid now (a restart changes it); undefined when the server is not ours. */
  readonly mariadbPid: number | undefined;
  rows: number;
  zip: LambdaZip;
  runtime: LambdaRuntime;
  /** The ingest chain (src/local/ingest-stack.ts), unless left out. */
  ingest?: LocalIngest;
  /** Stop the gateway, the containers and (when the stack started it) the database. */
  stop(): Promise<void>;
}

const quoteUser = (user: string) => `${mysql.escape(user)}@'127.0.0.1'`;

/** What the writer login may do on the stack's database: load, seed, init, reseed (TRUNCATE is DROP). */
const WRITER_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, LOCK TABLES';

/** Create (or keep) `user` with a new random password and these privileges on `database`. */
async function ensureLogin(
  admin: mysql.Connection,
  database: string,
  user: string,
  privileges: string,
): Promise<DbLogin> {
  // A new password every `up`: it lives only in state.json (0600) and, for the function, its environment.
  const password = randomBytes(18).toString('base64url');
  await admin.query(`CREATE USER IF NOT EXISTS ${quoteUser(user)} IDENTIFIED BY ?`, [password]);
  await admin.query(`ALTER USER ${quoteUser(user)} IDENTIFIED BY ?`, [password]);
  await admin.query(`GRANT ${privileges} ON ${mysql.escapeId(database)}.* TO ${quoteUser(user)}`);
  return { user, password };
}

/**
 * Create the database and (optionally) the function's SELECT-only user and the stack's writer
 * (`<user>_writer`); without a user, both are the server's own credentials.
 */
async function prepareDatabase(
  server: DbServer,
  database: string,
  user: string | undefined,
): Promise<{ login: DbLogin; writer: DbLogin }> {
  const admin = await mysql.createConnection({ ...server });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4`);
    if (user === undefined) {
      const own = { user: server.user, password: server.password };
      return { login: own, writer: own };
    }
    return {
      login: await ensureLogin(admin, database, user, 'SELECT'),
      writer: await ensureLogin(admin, database, `${user}_writer`, WRITER_PRIVILEGES),
    };
  } finally {
    await admin.end();
  }
}

/**
 * Folders above the private MariaDB's that are the stack's own (its state folder, and the
 * `.chatbot-ops` folder holding it): these may be opened to the server's OS account for passage.
 */
function ownFolders(stateDir: string): string[] {
  const parent = dirname(stateDir);
  return basename(parent) === '.chatbot-ops' ? [stateDir, parent] : [stateDir];
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
    const existing = await countAccessLogs(pool);
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
  return countAccessLogs(pool);
}

/**
 * How long an event may wait for a free container: what the integration timeout leaves after the
 * function's whole query time, so an event that starts can still run its longest query and answer
 * before the stand-in gives up (29 s - 25 s = 4 s by default); at least a second, so a burst of quick
 * events queues instead of being refused, and never past the integration timeout.
 */
export function maxQueueWait(integrationTimeoutMs: number, queryTimeoutMs: number): number {
  return Math.min(integrationTimeoutMs, Math.max(1000, integrationTimeoutMs - queryTimeoutMs));
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
  let mariadbPid: () => number | undefined = () => undefined;
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    let server = options.server;
    if (!server) {
      progress('starting a private MariaDB');
      const serverOptions: StartOptions = {
        baseDir: join(stateDir, 'mariadb'),
        keep: true,
        detached: options.detachedDb ?? false,
        openParents: ownFolders(stateDir),
      };
      const mariadb = await startMariaDb(serverOptions);
      if (options.watchDatabase === false) {
        cleanups.push(() => mariadb.stop());
        mariadbPid = () => mariadb.pid;
      } else {
        // Started again on the same port: the function's DB_PORT stays right.
        const restart = () => startMariaDb({ ...serverOptions, port: mariadb.port, requireData: true });
        const watch = new DatabaseWatchdog(
          mariadb,
          restart,
          options.onDatabaseEvent ?? (() => {}),
          options.watchDatabase,
        );
        cleanups.push(() => watch.stop());
        mariadbPid = () => watch.pid;
      }
      server = { host: mariadb.host, port: mariadb.port, user: mariadb.user, password: mariadb.password };
    }
    const database = options.database ?? config.database.name;
    const createUser = options.createUser ?? true;
    const { login, writer } = await prepareDatabase(
      server,
      database,
      createUser ? (options.dbUser ?? config.database.user) : undefined,
    );

    const pool = mysql.createPool({ ...server, ...writer, database, timezone: 'Z', connectionLimit: 4 });
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

    const apiKey = options.apiKey ?? generateApiKeyValue();
    const apiKeyId = randomBytes(5).toString('hex');
    const integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
    const runtime = new LambdaRuntime({
      taskDir,
      handler: 'lambda_function.lambda_handler',
      // What the deployed function gets, with this stack's database (loopback: no TLS) and key.
      environment: environmentFor(
        {
          ...config,
          database: {
            host: server.host,
            port: server.port,
            name: database,
            user: login.user,
            ssl: false,
          },
        },
        { dbPassword: login.password, apiKeyValues: [apiKey] },
      ),
      functionName: config.function.name,
      region: config.region ?? 'us-east-1',
      memoryMb: config.function.memory,
      timeoutMs: config.function.timeout * 1000,
      maxContainers: options.containers ?? 4,
      maxQueueWaitMs: maxQueueWait(integrationTimeoutMs, config.limits.queryTimeoutMs),
      ...(options.onLog ? { onLog: options.onLog } : {}),
      ...(options.extraLatencyMs ? { extraLatencyMs: options.extraLatencyMs } : {}),
    });
    cleanups.push(() => runtime.stop());
    progress('starting the function');
    await runtime.warm();

    let ingest: LocalIngest | undefined;
    if (options.ingest !== false) {
      progress('starting the ingest function and the S3 endpoint');
      const startedIngest = await startLocalIngest({
        config,
        stateDir,
        taskDir,
        server,
        database,
        createUser,
        // A stack given its own API user (tests, several stacks on one server) gets its own writer too.
        ...(options.dbUser ? { dbUser: `${options.dbUser}_ingest` } : {}),
        region: config.region ?? 'us-east-1',
        apiFunction: { name: config.function.name, invoke: (event) => runtime.invoke(event) },
        ...(options.ingestRetryDelaysMs ? { retryDelaysMs: options.ingestRetryDelaysMs } : {}),
        ...(options.onLog ? { onLog: options.onLog } : {}),
      });
      cleanups.push(() => startedIngest.stop());
      ingest = startedIngest;
    }

    const invoke = (event: ProxyEvent, control: InvokeControl): Promise<InvokeResult> => {
      options.onEvent?.(event);
      return runtime.invoke(event, { ...control, light: isLightEvent(event) });
    };
    const gateway: Gateway = await startGateway({
      port,
      stage: config.api.stage,
      resource: config.api.resource,
      keys: [{ id: apiKeyId, value: apiKey }],
      usagePlan: config.usagePlan,
      invoke,
      integrationTimeoutMs,
      ...(options.onLog ? { onLog: options.onLog } : {}),
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
      db: { host: server.host, port: server.port, ...login, writer, database, managed: !options.server },
      get mariadbPid() {
        return mariadbPid();
      },
      rows,
      zip,
      runtime,
      ...(ingest ? { ingest } : {}),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
