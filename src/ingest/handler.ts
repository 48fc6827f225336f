/**
 * The ingest function (bundled as ingest_function.js, handler `ingest_function.handler`): it loads
 * access logs that land in the logs bucket into access_logs, with the same parser, batching,
 * all-or-nothing transaction and load_history as `db load` (src/db/load.ts). Two kinds of events:
 *
 * - S3 ObjectCreated notifications: each object is streamed (plain or gzip, never read whole) and
 *   loaded in one transaction. At-least-once delivery is safe: load_history is keyed by the SHA-256
 *   of the text, so the same object twice, or the same content under two names, adds nothing. A
 *   failure (database down, truncated gzip, not a log, out of time) rolls back, throws, and Lambda
 *   retries the event and then sends it to the failure destination.
 * - Direct invocations (IAM-authorised; no API Gateway route reaches this function):
 *   {"action": "init"} applies templates/schema.sql and builds the rollups as `db init` (within
 *   the time budget: a re-run continues); {"action": "stats"} answers as
 *   `db stats --json`; {"action": "load", "object": "s3://bucket/key", "format"?, "force"?,
 *   "maxErrors"?} loads one object and answers its report; {"action": "grants"} answers what its
 *   login may do to the two tables it writes (doctor checks it). They answer {ok, action, result} or
 *   {ok: false, action, error: {message, hint}} rather than failing, so the CLI can print the error.
 *
 * For every object it writes a result document (src/ingest/layout.ts) to the same bucket, updated
 * while it runs: `db load --remote` waits on it, without any network path to the database.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { S3, S3Location } from '../aws/s3.js';
import { classifyUnclassifiedRows } from '../db/agent-backfill.js';
import { ensureDatabase, schemaRightsError } from '../db/create-database.js';
import { loginPrivileges } from '../db/grants.js';
import type { InitResult } from '../db/init.js';
import { type LoadOptions, type LoadReport, LoadStoppedError, loadLogs } from '../db/load.js';
import { LOG_FORMATS, type LogFormat } from '../db/log-formats.js';
import { backfillRollups } from '../db/rollup-maintenance.js';
import { applySchema } from '../db/schema.js';
import { collectDbStats } from '../db/stats.js';
import { UserError } from '../errors.js';
import { createLogger, describeError, type Logger, type LogSink } from '../lambda/log.js';
import type { SecretsClient } from '../lambda/secrets.js';
import { readDatabaseSettings } from '../lambda/settings.js';
import { IngestDatabase } from './database.js';
import { decodeEventKey, type IngestResult, resultKey } from './layout.js';
import { schemaSqlText } from './schema-text.js';

export interface IngestContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

export interface IngestHandlerOptions {
  /** The environment read on the first invocation; default process.env (as in Lambda). */
  env?: Record<string, string | undefined>;
  /** Where log lines go; default stdout (CloudWatch Logs). */
  log?: LogSink;
  /** The S3 client; default one made on first use (tests inject their own). */
  s3?: S3;
  secretsClient?: SecretsClient;
  /** How often a running load updates its result document (default 5 s). */
  progressEveryMs?: number;
}

export interface IngestHandler {
  (event: unknown, context?: IngestContext): Promise<unknown>;
  /** Close the pool (tests, the local stack's shutdown). */
  close(): Promise<void>;
}

export const DIRECT_ACTIONS = ['init', 'stats', 'load', 'grants'] as const;
export type DirectAction = (typeof DIRECT_ACTIONS)[number];

export type DirectAnswer =
  | { ok: true; action: DirectAction; result: unknown }
  | { ok: false; action: string | null; error: { message: string; hint?: string }; result?: IngestResult };

/**
 * The S3 helpers, loaded on first use: they require @aws-sdk/client-s3, which `init` and `stats`
 * never need, so those direct invocations do not pay for loading it.
 */
const s3Api = () => import('../aws/s3.js');

const s3Url = (l: S3Location) => `s3://${l.bucket}/${l.key}`;

/** Environment variables of the ingest function besides the database's. */
export const RESULTS_PREFIX_ENV = 'INGEST_RESULTS_PREFIX';
const DEFAULT_RESULTS_PREFIX = 'chatbot-ops/results/';

/** Before the function's timeout, this much time is kept to roll back and write the result. */
export function timeReserveMs(remainingMs: number): number {
  return Math.max(3000, Math.round(remainingMs * 0.1));
}

interface S3Record {
  eventSource?: unknown;
  eventName?: unknown;
  s3?: { bucket?: { name?: unknown }; object?: { key?: unknown } };
}

/** The objects of an S3 notification event, or undefined when the event is not one. */
export function objectsOfS3Event(event: unknown): S3Location[] | undefined {
  const records = (event as { Records?: unknown })?.Records;
  if (!Array.isArray(records)) return undefined;
  const objects: S3Location[] = [];
  for (const r of records as S3Record[]) {
    if (r?.eventSource !== 'aws:s3') return undefined;
    // Only creations are loaded; a deletion or a lifecycle expiry has nothing to add.
    if (typeof r.eventName !== 'string' || !r.eventName.startsWith('ObjectCreated:')) continue;
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') return undefined;
    objects.push({ bucket, key: decodeEventKey(key) });
  }
  return objects;
}

/** The file an ALB writes to check it may deliver access logs (`.../AWSLogs/<account>/ELBAccessLogTestFile`). */
export function isAlbTestFile(key: string): boolean {
  return key.endsWith('/ELBAccessLogTestFile') || key === 'ELBAccessLogTestFile';
}

/** What is safe and useful to tell about a failure: a UserError as written, else its code and message. */
function failureText(err: unknown): { message: string; hint?: string } {
  if (err instanceof UserError) return { message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'PROTOCOL_CONNECTION_LOST'
  )
    return {
      message: `the database is unreachable (${code}); nothing was loaded`,
      hint: 'Lambda retries the event; check the database and the function security group (doctor).',
    };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return { message: code ? `${code}: ${message}` : message };
}

function optionsOf(event: Record<string, unknown>): Pick<LoadOptions, 'format' | 'force' | 'maxErrors'> {
  const format = event.format;
  if (format !== undefined && format !== 'auto' && !LOG_FORMATS.includes(format as LogFormat)) {
    throw new UserError(`format must be auto or one of ${LOG_FORMATS.join(', ')}`, { exitCode: 2 });
  }
  const maxErrors = event.maxErrors;
  if (maxErrors !== undefined && !(Number.isSafeInteger(maxErrors) && (maxErrors as number) >= 0))
    throw new UserError('maxErrors must be a whole number >= 0', { exitCode: 2 });
  return {
    ...(format !== undefined ? { format: format as LogFormat | 'auto' } : {}),
    ...(event.force === true ? { force: true } : {}),
    ...(maxErrors !== undefined ? { maxErrors: maxErrors as number } : {}),
  };
}

export function createIngestHandler(options: IngestHandlerOptions = {}): IngestHandler {
  const env = options.env ?? process.env;
  const sink = options.log ?? ((line: string) => console.log(line));
  const progressEveryMs = options.progressEveryMs ?? 5000;
  let container:
    | { logger: Logger; database: IngestDatabase | undefined; problems: string[]; resultsPrefix: string }
    | undefined;
  let s3: S3 | undefined = options.s3;

  const setUp = () => {
    const settings = readDatabaseSettings(env);
    const level = (env.LOG_LEVEL ?? 'INFO').toUpperCase();
    const logger = createLogger(
      sink,
      (['DEBUG', 'INFO', 'WARN', 'ERROR'] as const).find((l) => l === level) ?? 'INFO',
    );
    const resultsPrefix = env[RESULTS_PREFIX_ENV]?.trim() || DEFAULT_RESULTS_PREFIX;
    if (settings.problems.length > 0 || !settings.db) {
      logger.log('ERROR', 'ingest function misconfigured: fix these environment variables', {
        problems: settings.problems,
      });
      return { logger, database: undefined, problems: settings.problems, resultsPrefix };
    }
    for (const warning of settings.warnings) logger.log('WARN', warning);
    return {
      logger,
      database: new IngestDatabase(settings.db, settings.dbSsl, env, options.secretsClient),
      problems: [],
      resultsPrefix,
    };
  };

  const s3Client = async (): Promise<S3> => {
    if (!s3) {
      const { createS3Client } = await s3Api();
      s3 = createS3Client({}, env as NodeJS.ProcessEnv);
    }
    return s3;
  };

  const database = (): IngestDatabase => {
    const c = container as NonNullable<typeof container>;
    if (!c.database) {
      throw new UserError(`the ingest function is misconfigured: ${c.problems.join('; ')}`, {
        hint: 'Fix its environment variables (chatbot-ops deploy sets them).',
      });
    }
    return c.database;
  };

  /** Load one object and record the outcome in its result document. Throws only through `rethrow`. */
  const loadObject = async (
    where: S3Location,
    requestId: string,
    context: IngestContext | undefined,
    loadOptions: Pick<LoadOptions, 'format' | 'force' | 'maxErrors'>,
  ): Promise<IngestResult> => {
    const c = container as NonNullable<typeof container>;
    const started = performance.now();
    const client = await s3Client();
    const { openObject, putJsonObject } = await s3Api();
    const resultAt = { bucket: where.bucket, key: resultKey(c.resultsPrefix, where.key) };
    const base: IngestResult = {
      version: 1,
      object: s3Url(where),
      status: 'running',
      startedAt: new Date().toISOString(),
      requestId,
    };
    // Result writes are best effort: a missing s3:PutObject right must not stop the load itself.
    let writing: Promise<void> = Promise.resolve();
    const write = (doc: IngestResult) => {
      writing = writing
        .then(() => putJsonObject(client, resultAt, doc))
        .catch((err) =>
          c.logger.log('WARN', 'could not write the result document', {
            request_id: requestId,
            result: s3Url(resultAt),
            ...describeError(err),
          }),
        );
      return writing;
    };
    await write(base);

    const remaining = context?.getRemainingTimeInMillis?.();
    const abort = new AbortController();
    const timer =
      remaining === undefined
        ? undefined
        : setTimeout(
            () =>
              abort.abort(
                new UserError(
                  `${s3Url(where)} could not be loaded within the function's time budget (${Math.round(remaining / 1000)} s); nothing from it was loaded`,
                  { hint: 'Split the log into smaller objects, or raise ingest.timeout (at most 900 s).' },
                ),
              ),
            remaining - timeReserveMs(remaining),
          );
    let lastProgress = Date.now();
    let result: IngestResult;
    let body: { destroyed: boolean; destroy(): void } | undefined;
    try {
      const pool = await database().pool();
      const object = await openObject(client, where);
      body = object?.body;
      // Once a failed load stops reading, the response may still end in a socket error ("aborted")
      // with nobody listening, which would crash the container; while it is read, the loader's
      // iteration gets every error itself.
      object?.body.on('error', () => {});
      if (!object) {
        result = {
          ...base,
          status: 'skipped',
          finishedAt: new Date().toISOString(),
          error: { message: `${s3Url(where)} no longer exists; nothing to load` },
        };
      } else {
        const report: LoadReport = await loadLogs(
          pool,
          [
            {
              label: s3Url(where),
              open: async () => object.body,
              ...(object.size !== undefined ? { size: object.size } : {}),
            },
          ],
          {
            ...loadOptions,
            signal: abort.signal,
            onProgress: (p) => {
              if (Date.now() - lastProgress < progressEveryMs) return;
              lastProgress = Date.now();
              void write({
                ...base,
                progress: {
                  lines: p.lines,
                  bytes: p.bytes,
                  ...(p.totalBytes ? { totalBytes: p.totalBytes } : {}),
                },
              });
            },
          },
        );
        const file = report.files[0];
        const notALog = report.loaded === 0 && report.errors > 0;
        result = {
          ...base,
          status: file?.skipped ? 'skipped' : notALog ? 'failed' : 'loaded',
          finishedAt: new Date().toISOString(),
          report,
          ...(notALog
            ? {
                error: {
                  message: `${s3Url(where)} holds no line in a known access-log format (${report.errors} bad line${report.errors === 1 ? '' : 's'}); nothing was loaded`,
                  hint: 'Put only access logs under the watched prefix (Apache/nginx, ALB, CloudFront; plain or gzip).',
                },
              }
            : {}),
        };
      }
    } catch (err) {
      if (body && !body.destroyed) body.destroy();
      await c.database?.reset();
      result = {
        ...base,
        status: 'failed',
        finishedAt: new Date().toISOString(),
        error: failureText(err),
        ...(err instanceof LoadStoppedError ? { report: err.report } : {}),
      };
      c.logger.log('ERROR', 'load failed', {
        request_id: requestId,
        object: base.object,
        ...describeError(err),
      });
    } finally {
      clearTimeout(timer);
      // A load that stopped early leaves the response unread: close it rather than leave the socket open.
      if (body && !body.destroyed) body.destroy();
    }
    // A late progress write must not land after (and over) the final result.
    await writing;
    await write(result);
    const report = result.report;
    c.logger.log(result.status === 'failed' ? 'ERROR' : 'INFO', 'object', {
      request_id: requestId,
      object: base.object,
      status: result.status,
      lines: report?.files[0]?.lines ?? 0,
      loaded: report?.loaded ?? 0,
      errors: report?.errors ?? 0,
      format: report?.files[0]?.format ?? null,
      duration_ms: Math.round(performance.now() - started),
      ...(result.error ? { error: result.error.message } : {}),
    });
    return result;
  };

  const direct = async (
    event: Record<string, unknown>,
    requestId: string,
    context: IngestContext | undefined,
  ): Promise<DirectAnswer> => {
    const action = typeof event.action === 'string' ? event.action : null;
    try {
      switch (action) {
        case 'init': {
          const db = database();
          const credentials = await db.credentials();
          const names = { database: credentials.database, user: credentials.user };
          const server = await db.serverConnection();
          let databaseCreated: boolean;
          try {
            databaseCreated = await ensureDatabase(server, names, {
              createDatabase: event.createDatabase !== false,
            });
          } finally {
            await server.end().catch(() => {});
          }
          try {
            const pool = await db.pool();
            const applied = await applySchema(pool, schemaSqlText());
            // Rows that predate the rollup tables are counted into them here, a chunk per
            // transaction, until the time budget runs short: `init` again continues from there.
            const remaining = context?.getRemainingTimeInMillis?.();
            const stopAt =
              remaining === undefined
                ? Number.POSITIVE_INFINITY
                : Date.now() + remaining - timeReserveMs(remaining);
            const shouldStop = () => Date.now() >= stopAt;
            // Classified first: the rollups count bots and agent classes, so a row needs its class
            // before the backfill counts it (an unfinished classification leaves the backfill for later).
            const classified = await classifyUnclassifiedRows(pool, { shouldStop });
            const backfilled = await backfillRollups(pool, {
              shouldStop: () => classified.remaining > 0 || shouldStop(),
            });
            const result: InitResult = {
              database: names.database,
              databaseCreated,
              ...applied,
              backfilled,
              classified,
            };
            return { ok: true, action, result };
          } catch (err) {
            throw schemaRightsError(err, names);
          }
        }
        case 'stats':
          return { ok: true, action, result: await collectDbStats(await database().pool()) };
        case 'grants':
          return { ok: true, action, result: await loginPrivileges(await database().pool()) };
        case 'load': {
          if (typeof event.object !== 'string')
            throw new UserError('load needs "object": "s3://bucket/key"', { exitCode: 2 });
          const where = (await s3Api()).parseS3Url(event.object);
          const result = await loadObject(where, requestId, context, optionsOf(event));
          // The result goes back with a failure too: it may hold the report of the lines read.
          if (result.status === 'failed')
            return { ok: false, action, error: result.error ?? { message: 'failed' }, result };
          return { ok: true, action, result };
        }
        default:
          throw new UserError(
            `unknown action ${action === null ? '(none)' : `"${action.slice(0, 40)}"`}; the ingest function takes ${DIRECT_ACTIONS.join(', ')} or S3 events`,
            { exitCode: 2 },
          );
      }
    } catch (err) {
      if (!(err instanceof UserError)) await container?.database?.reset();
      (container as NonNullable<typeof container>).logger.log('ERROR', `${action ?? 'direct'} failed`, {
        request_id: requestId,
        ...describeError(err),
      });
      return { ok: false, action, error: failureText(err) };
    }
  };

  const handle = async (event: unknown, context?: IngestContext): Promise<unknown> => {
    container ??= setUp();
    const requestId =
      typeof context?.awsRequestId === 'string' && context.awsRequestId !== ''
        ? context.awsRequestId
        : randomUUID();
    // S3 sends this once when a notification is configured; it carries no object.
    if ((event as { Event?: unknown })?.Event === 's3:TestEvent') return { ignored: 's3:TestEvent' };
    const objects = objectsOfS3Event(event);
    if (objects === undefined) {
      if (typeof event === 'object' && event !== null && 'action' in event)
        return direct(event as Record<string, unknown>, requestId, context);
      container.logger.log('ERROR', 'unrecognised event (neither an S3 notification nor a direct action)', {
        request_id: requestId,
      });
      throw new Error('unrecognised event: expected an S3 ObjectCreated notification or {"action": ...}');
    }
    const results: IngestResult[] = [];
    for (const where of objects) {
      // The function's own result documents never trigger a load (a notification filter that
      // includes the results prefix would otherwise make it call itself).
      if (where.key.startsWith(container.resultsPrefix)) continue;
      // An Application Load Balancer writes this once when its access logs are turned on, to see
      // that it may: a notice, not a log, which must not fail, alarm and land in the failure queue.
      if (isAlbTestFile(where.key)) {
        container.logger.log('INFO', 'ignored the load balancer access-log test file', {
          request_id: requestId,
          object: s3Url(where),
        });
        continue;
      }
      results.push(await loadObject(where, requestId, context, {}));
    }
    const failed = results.filter((r) => r.status === 'failed');
    // Throwing hands the event back to Lambda: retried, then sent to the failure destination.
    if (failed.length > 0) throw new Error(failed.map((r) => `${r.object}: ${r.error?.message}`).join('; '));
    return {
      results: results.map((r) => ({ object: r.object, status: r.status, loaded: r.report?.loaded ?? 0 })),
    };
  };

  return Object.assign(handle, {
    async close() {
      const database = container?.database;
      container = undefined;
      await database?.reset();
    },
  });
}
