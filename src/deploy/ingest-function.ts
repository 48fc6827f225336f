/**
 * The ingest function (docs/ingest.md) and what keeps its failures from being lost: created or
 * updated from the same zip as the API function (handler `ingest_function.handler`), in the same
 * subnets with its own role and security group; its log group; an SQS queue as the on-failure
 * destination of its asynchronous invocations (S3 notifications are asynchronous: Lambda retries a
 * failed event twice, then sends it to the queue, kept 14 days, encrypted); and an alarm on its
 * Errors metric.
 *
 * Its database login: `ingest.dbUser` with the password from `ingest.dbPasswordEnv`, or
 * `ingest.dbSecretArn`; without either, the API function's login. Decision (docs/ingest.md): a
 * separate writer user is recommended, since the API function needs SELECT only; the API function's
 * login is the default so that a first deploy works with the one login the guide creates, and doctor
 * warns while the two share it.
 *
 * destroy removes the alarm, the function (its permissions go with it), its log group unless
 * `--keep-logs`, and the queue unless it holds failed events (then only with `--delete-data`).
 */
import { type AlarmSpec, deleteAlarms, findAlarms, putAlarm } from '../aws/cloudwatch.js';
import {
  type AsyncInvokeSettings,
  deleteFunction,
  type FunctionState,
  findFunction,
  getAsyncInvokeSettings,
  putAsyncInvokeSettings,
} from '../aws/lambda.js';
import { deleteLogGroup, findLogGroup, type LogGroupState } from '../aws/logs.js';
import { createQueue, deleteQueue, findQueue, type QueueState, setQueueSettings } from '../aws/sqs.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { RESULTS_PREFIX_ENV } from '../ingest/handler.js';
import { INGEST_HANDLER } from '../package/bundle.js';
import { alarmChanges } from './alarms.js';
import { applyFunction, databasePassword, type FunctionDesired, planFunction } from './function.js';
import { type IngestNames, ingestNames, readIngestNames } from './ingest-names.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepContext } from './step.js';

const STEP = 'ingest-function';
/** SQS keeps a message at most 14 days: failed events wait there that long for someone to look. */
const QUEUE_RETENTION_SECONDS = 14 * 86_400;
/** Lambda's most: an event is tried three times in all before it goes to the queue. */
const RETRY_ATTEMPTS = 2;

/** Where the ingest function's database login comes from. */
export type IngestLogin =
  | { kind: 'secret'; secretArn: string; own: boolean }
  | { kind: 'password'; user: string; passwordEnv: string; own: boolean };

/** The ingest function's login: its own (`own`), or the API function's. */
export function ingestLogin(config: ChatbotConfig): IngestLogin {
  const i = config.ingest;
  if (i.dbSecretArn) return { kind: 'secret', secretArn: i.dbSecretArn, own: true };
  if (i.dbUser) return { kind: 'password', user: i.dbUser, passwordEnv: i.dbPasswordEnv, own: true };
  if (config.database.secretArn) return { kind: 'secret', secretArn: config.database.secretArn, own: false };
  return {
    kind: 'password',
    user: config.database.user,
    passwordEnv: config.database.passwordEnv,
    own: false,
  };
}

/** The ingest login's password from its environment variable; a UserError when needed and unset. */
export function ingestDatabasePassword(config: ChatbotConfig, required: boolean): string | undefined {
  const login = ingestLogin(config);
  if (login.kind === 'secret') return undefined;
  if (!login.own) return databasePassword(config, required);
  const value = process.env[login.passwordEnv];
  if ((value === undefined || value === '') && required) {
    throw new UserError(`the ingest function's database password is not set: ${login.passwordEnv} is empty`, {
      hint: `export ${login.passwordEnv}=... (the password of ingest.dbUser ${login.user}; it goes into the function's environment, never into the config file), or set ingest.dbSecretArn.`,
      exitCode: 2,
    });
  }
  return value === '' ? undefined : value;
}

/**
 * The ingest function's environment: its database login, DB_SSL as the API function's, the log
 * level, and where its result documents go. `password` undefined with no secret: left out.
 */
export function ingestEnvironment(
  config: ChatbotConfig,
  password: string | undefined,
): Record<string, string> {
  const db = config.database;
  const login = ingestLogin(config);
  const where = {
    ...(db.host ? { DB_HOST: db.host } : {}),
    DB_PORT: String(db.port),
    DB_NAME: db.name,
  };
  return {
    // With a secret, the host, port and name still fill what the secret lacks (an RDS-managed
    // master secret holds only the user name and password).
    ...(login.kind === 'secret'
      ? { DB_SECRET_ARN: login.secretArn, ...where }
      : { ...where, DB_USER: login.user, ...(password !== undefined ? { DB_PASSWORD: password } : {}) }),
    ...(db.ssl !== undefined ? { DB_SSL: String(db.ssl) } : {}),
    LOG_LEVEL: config.logLevel,
    [RESULTS_PREFIX_ENV]: config.ingest.resultsPrefix,
  };
}

export interface IngestFunctionDesired {
  names: IngestNames;
  fn: FunctionDesired;
  queue: { name: string; retentionSeconds: number };
  async: AsyncInvokeSettings;
  alarm: AlarmSpec | undefined;
}

export interface IngestFunctionCurrent {
  fn: FunctionState | undefined;
  logGroup: LogGroupState | undefined;
  queue: QueueState | undefined;
  async: AsyncInvokeSettings | undefined;
  alarm: AlarmSpec | undefined;
}

/** The ingest function's Errors alarm, or undefined when alarms are off. */
export function ingestAlarm(config: ChatbotConfig): AlarmSpec | undefined {
  const a = config.alarms;
  if (!a.enabled) return undefined;
  const name = config.ingest.functionName;
  const threshold = config.ingest.errorsThreshold;
  return {
    name: `${name}-errors`,
    description: `More than ${threshold} failed invocations of ${name} in ${a.periodSeconds / 60} min: logs not loaded (chatbot-ops)`,
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    dimensions: { FunctionName: name },
    statistic: 'Sum',
    periodSeconds: a.periodSeconds,
    evaluationPeriods: 1,
    threshold,
    comparison: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: a.snsTopicArn ? [a.snsTopicArn] : [],
  };
}

export function desiredIngestFunction(ctx: StepContext): IngestFunctionDesired {
  const { config, code, flags } = ctx.inputs;
  const enabled = config.ingest.enabled;
  if (enabled && !config.database.host && ingestLogin(config).kind !== 'secret') {
    throw new UserError('the config does not name the database host (database.host)', {
      hint: 'Set database.host to the RDS endpoint in chatbot-ops.config.json, or run `chatbot-ops deploy --interactive`.',
      exitCode: 2,
    });
  }
  const names = ingestNames(config, ctx.session);
  // The password must be there to apply; a dry run and status only leave it uncompared.
  const password = ingestDatabasePassword(config, enabled && flags !== undefined && flags.dryRun !== true);
  const environment = ingestEnvironment(config, password);
  const i = config.ingest;
  return {
    names,
    fn: {
      name: i.functionName,
      settings: {
        runtime: config.function.runtime,
        handler: INGEST_HANDLER,
        roleArn: ctx.refs.get('ingestRoleArn'),
        memory: i.memory,
        timeout: i.timeout,
        architecture: config.function.architecture,
        environment,
        subnetIds: [...config.vpc.subnetIds].sort(),
        securityGroupIds: [ctx.refs.get('ingestSecurityGroupId')],
      },
      code,
      uncomparedVariables:
        ingestLogin(config).kind === 'secret' || 'DB_PASSWORD' in environment ? [] : ['DB_PASSWORD'],
      logGroup: { name: names.logGroup, retentionDays: config.function.logRetentionDays },
      tags: config.tags,
      description:
        'chatbot access-log ingest: loads the logs bucket into the database (managed by chatbot-ops)',
    },
    queue: { name: names.queueName, retentionSeconds: QUEUE_RETENTION_SECONDS },
    async: { maximumRetryAttempts: RETRY_ATTEMPTS, onFailure: names.queueArn },
    alarm: ingestAlarm(config),
  };
}

/** The ingest function's own reads, once per run through the deployment's cache. */
export function readIngestFunctionState(d: Deployment, names: IngestNames) {
  const fn = () => d.cached(`fn:${names.functionName}`, () => findFunction(d.aws.lambda, names.functionName));
  return {
    fn,
    logGroup: () => d.cached(`log-group:${names.logGroup}`, () => findLogGroup(d.aws.logs, names.logGroup)),
    queue: () => d.cached(`queue:${names.queueName}`, () => findQueue(d.aws.sqs, names.queueName)),
    async: () =>
      d.cached(`async:${names.functionName}`, async () =>
        (await fn()) ? getAsyncInvokeSettings(d.aws.lambda, names.functionName) : undefined,
      ),
    alarm: () =>
      d.cached(`alarm:${names.alarmName}`, async () =>
        (await findAlarms(d.aws.cloudwatch, [names.alarmName])).get(names.alarmName),
      ),
  };
}

async function readIngestFunction(d: Deployment, names: IngestNames): Promise<IngestFunctionCurrent> {
  const r = readIngestFunctionState(d, names);
  const [fn, logGroup, queue, async, alarm] = await Promise.all([
    r.fn(),
    r.logGroup(),
    r.queue(),
    r.async(),
    r.alarm(),
  ]);
  return { fn, logGroup, queue, async, alarm };
}

const sameAsync = (a: AsyncInvokeSettings | undefined, b: AsyncInvokeSettings) =>
  a !== undefined && a.maximumRetryAttempts === b.maximumRetryAttempts && a.onFailure === b.onFailure;

export function planIngestFunction(
  current: IngestFunctionCurrent,
  desired: IngestFunctionDesired,
): PlanItem[] {
  const q = current.queue;
  const queueChanges: FieldChange[] = q
    ? [
        ...(q.retentionSeconds !== desired.queue.retentionSeconds
          ? [
              {
                field: 'retention',
                from: `${q.retentionSeconds} s`,
                to: `${desired.queue.retentionSeconds} s`,
              },
            ]
          : []),
        ...(q.managedSse ? [] : [{ field: 'encryption', from: 'none', to: 'SQS-managed (SSE-SQS)' }]),
      ]
    : [{ field: 'retention', from: null, to: '14 days, encrypted' }];
  const items: PlanItem[] = [
    createOrUpdate(STEP, 'SQS queue', desired.queue.name, q !== undefined, q ? queueChanges : queueChanges),
    ...planFunction(current, desired.fn).map((i) => ({ ...i, step: STEP })),
    createOrUpdate(
      STEP,
      'async invocation',
      `${desired.fn.name} → ${desired.queue.name}`,
      current.async !== undefined,
      sameAsync(current.async, desired.async)
        ? []
        : [
            {
              field: 'on failure',
              from: current.async
                ? `${current.async.maximumRetryAttempts} retries, then ${current.async.onFailure ?? 'dropped'}`
                : null,
              to: `${desired.async.maximumRetryAttempts} retries, then ${desired.queue.name}`,
            },
          ],
    ),
  ];
  if (desired.alarm) {
    const a = desired.alarm;
    items.push(
      createOrUpdate(
        STEP,
        'alarm',
        a.name,
        current.alarm !== undefined,
        current.alarm
          ? alarmChanges(current.alarm, a)
          : [{ field: 'threshold', from: null, to: `> ${a.threshold} in ${a.periodSeconds} s` }],
      ),
    );
  }
  return items;
}

export const ingestFunctionStep = defineStep({
  name: STEP,
  command: 'create-ingest-function',
  title: 'Ingest function',
  guideStep: '',
  description:
    'Create or update the ingest function, its log group, failure queue (2 retries, then SQS) and errors alarm',
  options: [{ flags: '--zip <file>', description: 'deploy this zip instead of packaging src/lambda' }],
  needs: ['ingest-role', 'ingest-network'],
  usesCode: true,
  provides: {
    ref: 'ingestFunctionArn',
    kind: 'Lambda function',
    idIn: (current: IngestFunctionCurrent) => current.fn?.arn,
    // Lambda function ARNs follow from the account, region and name.
    predict: (config, session) => ({ id: ingestNames(config, session).functionArn }),
  },
  desired: (ctx) => desiredIngestFunction(ctx),
  read: (d, desired) =>
    d.config.ingest.enabled
      ? readIngestFunction(d, desired.names)
      : Promise.resolve({
          fn: undefined,
          logGroup: undefined,
          queue: undefined,
          async: undefined,
          alarm: undefined,
        }),
  plan: (current, desired, ctx) =>
    ctx.inputs.config.ingest.enabled ? planIngestFunction(current, desired) : [],
  async apply(env, current, desired, items, ctx) {
    ctx.refs.require('ingestSecurityGroupId', 'the ingest function');
    ctx.refs.require('ingestRoleArn', 'the ingest function');
    const changed = (kind: string) => items.some((i) => i.kind === kind && i.action !== 'unchanged');
    if (!current.queue) {
      env.progress(`SQS queue ${desired.queue.name}`);
      await createQueue(env.aws.sqs, desired.queue.name, desired.queue, desired.fn.tags);
    } else if (changed('SQS queue')) {
      await setQueueSettings(env.aws.sqs, current.queue.url, desired.queue);
    }
    const arn = await applyFunction(env, current, desired.fn);
    if (!sameAsync(current.async, desired.async)) {
      env.progress('failed events: 2 retries, then the SQS queue');
      await putAsyncInvokeSettings(env.aws.lambda, desired.fn.name, desired.async, env.timing.clock);
    }
    if (desired.alarm && changed('alarm')) await putAlarm(env.aws.cloudwatch, desired.alarm, desired.fn.tags);
    return arn;
  },
  destroy: {
    read: async (d) => {
      const names = await readIngestNames(d);
      return { names, ...(await readIngestFunction(d, names)) };
    },
    plan(found, _config, flags) {
      const n = found.names;
      const waiting = found.queue?.messages ?? 0;
      return [
        ...(found.alarm ? [item(STEP, 'alarm', n.alarmName, 'delete')] : []),
        ...(found.fn ? [item(STEP, 'Lambda function', n.functionName, 'delete')] : []),
        ...(found.logGroup && !flags.keepLogs ? [item(STEP, 'log group', n.logGroup, 'delete')] : []),
        ...(found.queue
          ? waiting > 0 && !flags.deleteData
            ? [
                item(STEP, 'SQS queue', n.queueName, 'unchanged', [
                  {
                    field: 'kept',
                    from: `it holds ${waiting} failed event${waiting === 1 ? '' : 's'}`,
                    to: 'destroy --delete-data deletes them and the queue',
                  },
                ]),
              ]
            : [item(STEP, 'SQS queue', n.queueName, 'delete')]
          : []),
      ];
    },
    async apply(env, found, _config, flags) {
      const n = found.names;
      env.removing(`alarm ${n.alarmName}`);
      if (found.alarm) await deleteAlarms(env.aws.cloudwatch, [n.alarmName]);
      env.removing(`Lambda function ${n.functionName}`);
      // Its permissions and asynchronous-invocation settings go with it.
      if (found.fn) await deleteFunction(env.aws.lambda, n.functionName);
      env.removing(`log group ${n.logGroup}`);
      if (found.logGroup && !flags.keepLogs) await deleteLogGroup(env.aws.logs, n.logGroup);
      if (found.queue) {
        const waiting = found.queue.messages;
        if (waiting > 0 && !flags.deleteData) {
          env.report?.(
            `kept the SQS queue ${n.queueName}: it holds ${waiting} failed event${waiting === 1 ? '' : 's'} (destroy --delete-data deletes them and the queue)`,
          );
          return;
        }
        env.removing(`SQS queue ${n.queueName}`);
        await deleteQueue(env.aws.sqs, found.queue.url);
        if (waiting > 0)
          env.report?.(
            `deleted the SQS queue ${n.queueName} with ${waiting} failed event${waiting === 1 ? '' : 's'}`,
          );
      }
    },
  },
});
