/**
 * The backend's request pipeline: parse the event, check the method and
 * size, parse JSON, check the request's shape, authorise, find the intent, validate its params,
 * run it, respond. Every failure is an ApiError whose code decides the status (errors.ts); anything
 * unexpected is INTERNAL_ERROR. The caller never sees detail; the log gets it with the request id.
 *
 * Per-container state (settings, pool, cached secret) lives in the handler made by createHandler
 * and is set up on the first invocation, not when the module loads.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isAcceptedKey } from './api-keys.js';
import { deriveCursorKey } from './cursor.js';
import { Database } from './database.js';
import { ApiError, type ErrorCode, MISCONFIGURED_MESSAGE } from './errors.js';
import { parseEvent, readRequestShape } from './event.js';
import { findIntent, INTENTS } from './intents/index.js';
import { createLogger, describeError, type Logger, type LogSink } from './log.js';
import { parseParams } from './params.js';
import { type DbCredentials, readDbSecret, type SecretsClient } from './secrets.js';
import { readSettings, type Settings } from './settings.js';

export interface LambdaContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

export interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

export interface HandlerOptions {
  /** The environment to read on first invocation; default process.env (as in Lambda). */
  env?: Record<string, string | undefined>;
  /** Where log lines go; default stdout, which Lambda sends to CloudWatch Logs. */
  log?: LogSink;
  /** The clock windows are resolved against. */
  now?: () => Date;
  /** The Secrets Manager client for DB_SECRET_ARN; default one made for the ARN's region (tests inject a mock). */
  secretsClient?: SecretsClient;
}

export interface BackendHandler {
  (event: unknown, context?: LambdaContext): Promise<ProxyResult>;
  /** Close the database pool (tests and the local stack's shutdown; Lambda never calls it). */
  close(): Promise<void>;
}

/** What one container keeps between invocations. */
interface Container {
  logger: Logger;
  settings: Settings | undefined;
  database: Database | undefined;
  cursorKey: (() => Promise<Buffer>) | undefined;
}

function setUpContainer(
  env: Record<string, string | undefined>,
  sink: LogSink,
  secretsClient: SecretsClient | undefined,
): Container {
  const result = readSettings(env);
  const logger = createLogger(sink, result.ok ? result.settings.logLevel : result.logLevel);
  if (!result.ok) {
    // Once per container: every later call answers "backend misconfigured" without repeating this.
    logger.log('ERROR', 'backend misconfigured: fix these environment variables', {
      problems: result.problems,
    });
    return { logger, settings: undefined, database: undefined, cursorKey: undefined };
  }
  for (const warning of result.warnings) logger.log('WARN', warning);
  const { settings } = result;

  let secret: Promise<DbCredentials> | undefined;
  const credentials = (): Promise<DbCredentials> => {
    const { db } = settings;
    if (db.kind === 'env') return Promise.resolve(db);
    if (!secret) {
      const reading = readDbSecret(db.secretId, env, secretsClient);
      secret = reading;
      // Only a secret actually read is kept; a failed read is tried again on the next call.
      reading.catch(() => {
        if (secret === reading) secret = undefined;
      });
    }
    return secret;
  };
  let cursorKey: Promise<Buffer> | undefined;
  const database = new Database({
    credentials,
    ssl: settings.dbSsl,
    queryTimeoutMs: settings.queryTimeoutMs,
    // A refused login may mean the secret was rotated: read it (and the key derived from it) again.
    onLoginRefused: () => {
      secret = undefined;
      cursorKey = undefined;
    },
  });
  return {
    logger,
    settings,
    database,
    cursorKey: () => {
      cursorKey ??= credentials().then(deriveCursorKey);
      return cursorKey;
    },
  };
}

function respond(statusCode: number, requestId: string, payload: Record<string, unknown>): ProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId, 'Cache-Control': 'no-store' },
    body: JSON.stringify({ request_id: requestId, ...payload }),
    isBase64Encoded: false,
  };
}

const shortName = (name: string) => (name.length > 64 ? `${name.slice(0, 64)}...` : name);

/** A handler with its own container state. lambda_handler is one of these, made on first call. */
export function createHandler(options: HandlerOptions = {}): BackendHandler {
  let container: Container | undefined;
  const now = options.now ?? (() => new Date());
  const sink = options.log ?? ((line: string) => console.log(line));

  const handle = async (event: unknown, context?: LambdaContext): Promise<ProxyResult> => {
    const started = performance.now();
    const requestId =
      typeof context?.awsRequestId === 'string' && context.awsRequestId !== ''
        ? context.awsRequestId
        : randomUUID();
    container ??= setUpContainer(options.env ?? process.env, sink, options.secretsClient);
    const { logger } = container;
    let intentName: string | undefined;
    let direct: boolean | undefined;
    let rows = 0;
    let status = 200;
    let errorCode: ErrorCode | undefined;
    let result: ProxyResult;
    try {
      const { settings, database, cursorKey } = container;
      if (!settings || !database || !cursorKey) throw new ApiError('INTERNAL_ERROR', MISCONFIGURED_MESSAGE);
      const request = parseEvent(event, settings.maxPayloadSize);
      direct = request.direct;
      const shape = readRequestShape(request.body);
      intentName = shortName(shape.intent);
      if (!request.direct && !isAcceptedKey(request.apiKeys, settings.apiKeyDigests))
        throw new ApiError(
          'UNAUTHORIZED',
          request.apiKeys.length === 0 ? 'the x-api-key header is missing' : 'the API key is not valid',
        );
      const intent = findIntent(shape.intent);
      if (!intent)
        throw new ApiError(
          'UNKNOWN_INTENT',
          `unknown intent "${intentName}"; valid intents: ${INTENTS.map((i) => i.name).join(', ')}`,
        );
      const params = parseParams(intent.params, shape.params, { maxQueryLimit: settings.maxQueryLimit });
      const answer = await intent.run(database, params, {
        now: now(),
        cursorKey,
        intents: INTENTS,
        maxQueryLimit: settings.maxQueryLimit,
        siteHosts: settings.siteHosts,
      });
      rows = answer.rows;
      result = respond(200, requestId, { success: true, data: answer.data });
    } catch (err) {
      const failure =
        err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR', 'internal error', { cause: err });
      status = failure.status;
      errorCode = failure.code;
      if (status >= 500 && failure.message !== MISCONFIGURED_MESSAGE) {
        const detail = failure.cause ?? failure;
        logger.log('ERROR', `${failure.code}: ${failure.message}`, {
          request_id: requestId,
          intent: intentName,
          ...describeError(detail),
          ...(err instanceof ApiError ? {} : { stack: (detail as Error).stack }),
        });
      } else if (failure.cause !== undefined) {
        logger.log('ERROR', `${failure.code}: ${failure.message}`, {
          request_id: requestId,
          ...describeError(failure.cause),
        });
      }
      result = respond(status, requestId, {
        success: false,
        error: failure.message,
        error_code: failure.code,
      });
    }
    logger.log(status >= 500 ? 'ERROR' : 'INFO', 'request', {
      request_id: requestId,
      intent: intentName ?? null,
      source: direct === undefined ? null : direct ? 'direct' : 'api',
      status,
      error_code: errorCode ?? null,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      rows,
    });
    return result;
  };

  return Object.assign(handle, {
    async close() {
      const database = container?.database;
      container = undefined;
      await database?.close();
    },
  });
}
