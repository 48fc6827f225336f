/**
 * The ingest chain of the local stack, the same chain as in AWS: an S3 endpoint with the logs
 * bucket (src/local/s3-server.ts), whose object-created notifications invoke the ingest function
 * (ingest_function.handler from the same unpacked zip as the API function, in its own container
 * processes) asynchronously, as S3 invokes it: a failed invocation is retried twice and then written
 * to the failure destination, a file here. A Lambda Invoke API on loopback
 * (src/local/lambda-api.ts) lets the CLI invoke both functions directly.
 *
 * The function logs in as its own database user with the rights loading and `init` need
 * (INGEST_DB_PRIVILEGES), the API function's user keeps SELECT only.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import mysql from 'mysql2/promise';
import { LOCAL_S3_CREDENTIALS } from '../aws/local-endpoints.js';
import type { ChatbotConfig } from '../config.js';
import { INGEST_DB_PRIVILEGES } from '../ingest/database.js';
import { RESULTS_PREFIX_ENV } from '../ingest/handler.js';
import { INGEST_HANDLER } from '../package/bundle.js';
import { type LocalLambdaApi, startLocalLambdaApi } from './lambda-api.js';
import { type InvokeResult, LambdaRuntime } from './lambda-runtime.js';
import { type LocalS3, type S3NotificationEvent, startLocalS3 } from './s3-server.js';
import type { LocalState } from './state.js';

/** The logs bucket of the local stack when the config names none. */
export const LOCAL_LOGS_BUCKET = 'chatbot-logs-local';
/** The local stand-in of the retries Lambda makes of a failed asynchronous invocation (1 and 2 minutes in AWS). */
export const LOCAL_RETRY_DELAYS_MS = [1000, 2000];
export const INGEST_DB_USER = 'ingest_writer';

export interface LocalIngestOptions {
  config: ChatbotConfig;
  stateDir: string;
  /** The unpacked zip. */
  taskDir: string;
  /** Administrative access to the database server. */
  server: { host: string; port: number; user: string; password: string };
  database: string;
  /** Create the function's own writer user (default); false: log in with `server`'s credentials. */
  createUser: boolean;
  /** The writer user's name (default INGEST_DB_USER). */
  dbUser?: string;
  region: string;
  /** The API function, also reachable through the Lambda Invoke API. */
  apiFunction: { name: string; invoke: (event: unknown) => Promise<InvokeResult> };
  retryDelaysMs?: number[];
  containers?: number;
  onLog?: (line: string) => void;
}

export interface LocalIngest {
  bucket: string;
  s3Endpoint: string;
  lambdaEndpoint: string;
  functionName: string;
  prefix: string;
  resultsPrefix: string;
  region: string;
  /** Where events that failed every attempt are written, one JSON document a line. */
  failureFile: string;
  runtime: LambdaRuntime;
  /** Resolves once every notification received so far has been handled (retries included). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The folder the function's containers find the AWS SDK in, as Lambda's nodejs runtime provides it
 * on NODE_PATH (the zip leaves @aws-sdk/* out). It holds only @aws-sdk, linked to this
 * installation's copy, so a package the zip lacks still fails here as it would in AWS.
 */
function runtimeModules(stateDir: string): string {
  const dir = join(stateDir, 'runtime-node_modules');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sdk = dirname(dirname(createRequire(import.meta.url).resolve('@aws-sdk/client-s3/package.json')));
  symlinkSync(sdk, join(dir, '@aws-sdk'), 'dir');
  return dir;
}

const quoteUser = (user: string) => `${mysql.escape(user)}@'127.0.0.1'`;

async function writerLogin(options: LocalIngestOptions): Promise<{ user: string; password: string }> {
  if (!options.createUser) return { user: options.server.user, password: options.server.password };
  const user = options.dbUser ?? INGEST_DB_USER;
  const admin = await mysql.createConnection({ ...options.server });
  try {
    const password = randomBytes(18).toString('base64url');
    await admin.query(`CREATE USER IF NOT EXISTS ${quoteUser(user)} IDENTIFIED BY ?`, [password]);
    await admin.query(`ALTER USER ${quoteUser(user)} IDENTIFIED BY ?`, [password]);
    await admin.query(
      `GRANT ${INGEST_DB_PRIVILEGES} ON ${mysql.escapeId(options.database)}.* TO ${quoteUser(user)}`,
    );
    return { user, password };
  } finally {
    await admin.end();
  }
}

export async function startLocalIngest(options: LocalIngestOptions): Promise<LocalIngest> {
  const { config } = options;
  const bucket = config.ingest.bucket ?? LOCAL_LOGS_BUCKET;
  const functionName = config.ingest.functionName;
  const retryDelays = options.retryDelaysMs ?? LOCAL_RETRY_DELAYS_MS;
  const failureFile = join(options.stateDir, 'ingest-failures.jsonl');
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  const inFlight = new Set<Promise<void>>();
  let runtime: LambdaRuntime | undefined;
  let stopping = false;

  /** One asynchronous invocation, as S3 makes it: retried after a failure, then sent to the failure file. */
  const deliver = async (event: S3NotificationEvent) => {
    for (let attempt = 0; !stopping; attempt++) {
      const result = await (runtime as LambdaRuntime).invoke(event);
      if (result.ok) return;
      if (attempt >= retryDelays.length) {
        appendFileSync(
          failureFile,
          `${JSON.stringify({ time: new Date().toISOString(), requestId: result.requestId, attempts: attempt + 1, errorType: result.errorType, errorMessage: result.errorMessage, event })}\n`,
          { mode: 0o600 },
        );
        return;
      }
      await new Promise((r) => setTimeout(r, retryDelays[attempt]));
    }
  };

  try {
    const login = await writerLogin(options);
    const s3: LocalS3 = await startLocalS3({
      dir: join(options.stateDir, 's3'),
      bucket,
      region: options.region,
      filter: { prefix: config.ingest.prefix, suffixes: config.ingest.suffixes },
      onObjectCreated: (event) => {
        if (!runtime || stopping) return;
        const delivery = deliver(event).finally(() => inFlight.delete(delivery));
        inFlight.add(delivery);
      },
    });
    cleanups.push(() => s3.close());

    runtime = new LambdaRuntime({
      taskDir: options.taskDir,
      handler: INGEST_HANDLER,
      environment: {
        DB_HOST: options.server.host,
        DB_PORT: String(options.server.port),
        DB_NAME: options.database,
        DB_USER: login.user,
        DB_PASSWORD: login.password,
        DB_SSL: 'false',
        LOG_LEVEL: config.logLevel,
        [RESULTS_PREFIX_ENV]: config.ingest.resultsPrefix,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
        NODE_PATH: runtimeModules(options.stateDir),
        // The SDK's notice that it will need Node 22 concerns the host running the stack, not the
        // function (nodejs22.x in AWS); it would fill the function's log with every container.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      functionName,
      region: options.region,
      memoryMb: config.ingest.memory,
      timeoutMs: config.ingest.timeout * 1000,
      maxContainers: options.containers ?? 2,
      ...(options.onLog ? { onLog: options.onLog } : {}),
    });
    const ingestRuntime = runtime;
    cleanups.push(() => ingestRuntime.stop());
    await runtime.warm();

    const api: LocalLambdaApi = await startLocalLambdaApi({
      [functionName]: (event) => ingestRuntime.invoke(event),
      [options.apiFunction.name]: options.apiFunction.invoke,
    });
    cleanups.push(() => api.close());

    return {
      bucket,
      s3Endpoint: s3.endpoint,
      lambdaEndpoint: api.endpoint,
      functionName,
      prefix: config.ingest.prefix,
      resultsPrefix: config.ingest.resultsPrefix,
      region: options.region,
      failureFile,
      runtime,
      async idle() {
        while (inFlight.size > 0) await Promise.all([...inFlight]);
      },
      async stop() {
        stopping = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What state.json records of the chain, for the CLI in another process. */
export function localIngestState(ingest: LocalIngest): NonNullable<LocalState['ingest']> {
  const { s3Endpoint, lambdaEndpoint, bucket, prefix, resultsPrefix, functionName, region } = ingest;
  return { s3Endpoint, lambdaEndpoint, bucket, prefix, resultsPrefix, functionName, region };
}
