/**
 * Guide step 3 (and the VPC part of step 4): the Lambda function and its log group. Create, or
 * update only what differs: code when the zip's SHA-256 differs from CodeSha256, configuration
 * field by field. Every mutation waits for the function to be ready first (see src/aws/lambda.ts).
 */
import type { ApiKeyDetail } from '../aws/apigateway.js';
import {
  createFunction,
  deleteFunction,
  type FunctionSettings,
  type FunctionState,
  updateFunctionCode,
  updateFunctionConfiguration,
  waitForFunctionReady,
} from '../aws/lambda.js';
import { functionLogGroup } from '../aws/log-events.js';
import { createLogGroup, deleteLogGroup, type LogGroupState, setLogRetention } from '../aws/logs.js';
import type { AwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import { type Deployment, ownerTags } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { environmentFor } from '../lambda/settings.js';
import type { FunctionCode } from './code.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepContext, type StepEnv } from './step.js';

export const HANDLER = 'lambda_function.lambda_handler';

/** Variables whose value is a secret: plans and status show "(hidden)". */
const SECRET_VARIABLES = new Set(['DB_PASSWORD']);

export interface FunctionDesired {
  name: string;
  settings: FunctionSettings;
  /** Undefined: code is not compared (status without a package). */
  code: FunctionCode | undefined;
  /** Variables whose value is unknown here (password not in this shell): not compared. */
  uncomparedVariables: string[];
  logGroup: { name: string; retentionDays: number };
  tags: Record<string, string>;
  /** The function's description when it is created (default: the API function's). */
  description?: string;
}

export interface FunctionCurrent {
  fn: FunctionState | undefined;
  logGroup: LogGroupState | undefined;
  /** The keys on the usage plan: the function must accept every enabled one. */
  planKeys: Pick<ApiKeyDetail, 'enabled' | 'value'>[];
  /** The key the usage-plan step keeps (undefined: it will make one with the run's new value). */
  deployedKey: Pick<ApiKeyDetail, 'enabled' | 'value'> | undefined;
}

/**
 * The key values the function must accept: every enabled key on the plan, plus the key the
 * usage-plan step keeps (existing, or the value it is about to create).
 */
export function acceptedKeyValues(current: FunctionCurrent, newKeyValue: string): string[] {
  const values = current.planKeys.flatMap((k) => (k.enabled && k.value ? [k.value] : []));
  const kept = current.deployedKey
    ? current.deployedKey.enabled
      ? current.deployedKey.value
      : undefined
    : newKeyValue;
  return [...new Set([...values, ...(kept ? [kept] : [])])];
}

/** The error for a password the run needs and the shell does not have. */
export function missingPasswordError(config: ChatbotConfig, dryRun = false): UserError {
  return new UserError(
    `the database password is not set: ${config.database.passwordEnv} is empty${dryRun ? ' (the plan above compares everything else; `deploy` stops here)' : ''}`,
    {
      hint: `export ${config.database.passwordEnv}=... (it goes into the function's environment, never into the config file), or set database.secretArn to use Secrets Manager.`,
      exitCode: 2,
    },
  );
}

/** The database password from the variable the config names; a UserError when it is needed and unset. */
export function databasePassword(config: ChatbotConfig, required: boolean): string | undefined {
  if (config.database.secretArn) return undefined;
  const value = process.env[config.database.passwordEnv];
  if ((value === undefined || value === '') && required) throw missingPasswordError(config);
  return value === '' ? undefined : value;
}

export function desiredFunction(
  config: ChatbotConfig,
  refs: { roleArn: string; lambdaSecurityGroupId: string },
  inputs: { environment: Record<string, string>; code: FunctionCode | undefined },
): FunctionDesired {
  if (!config.database.secretArn && !config.database.host) {
    throw new UserError('the config does not name the database host (database.host)', {
      hint: 'Set database.host to the RDS endpoint in chatbot-ops.config.json, or run `chatbot-ops deploy --interactive`.',
      exitCode: 2,
    });
  }
  const f = config.function;
  return {
    name: f.name,
    settings: {
      runtime: f.runtime,
      handler: HANDLER,
      roleArn: refs.roleArn,
      memory: f.memory,
      timeout: f.timeout,
      architecture: f.architecture,
      environment: inputs.environment,
      subnetIds: [...config.vpc.subnetIds].sort(),
      securityGroupIds: [refs.lambdaSecurityGroupId],
    },
    code: inputs.code,
    uncomparedVariables:
      config.database.secretArn || 'DB_PASSWORD' in inputs.environment ? [] : ['DB_PASSWORD'],
    logGroup: { name: functionLogGroup(f.name), retentionDays: f.logRetentionDays },
    tags: ownerTags(config),
  };
}

export async function readFunction(d: Deployment): Promise<FunctionCurrent> {
  const [fn, logGroup, planKeys, deployedKey] = await Promise.all([
    d.function(),
    d.logGroup(),
    d.planKeys(),
    d.deployedKey(),
  ]);
  return { fn, logGroup, planKeys, deployedKey };
}

const shown = (name: string, value: string | undefined): unknown => {
  if (value === undefined) return null;
  if (SECRET_VARIABLES.has(name)) return '(hidden)';
  if (name === 'API_KEYS') return `(${value === '' ? 0 : value.split(',').length} key hash(es))`;
  return value;
};

/**
 * Where the function's database is, as the plan and `status` show it: `host:port/name`, or the
 * secret's ARN. Never the user or the password.
 */
export function databaseShown(environment: Record<string, string>): string {
  if (environment.DB_SECRET_ARN) return `from Secrets Manager ${environment.DB_SECRET_ARN}`;
  return `${environment.DB_HOST ?? '?'}:${environment.DB_PORT ?? '3306'}/${environment.DB_NAME ?? '?'}`;
}

/** Variable-by-variable differences, secrets redacted. */
export function environmentChanges(
  current: Record<string, string>,
  desired: Record<string, string>,
  uncompared: string[] = [],
): FieldChange[] {
  const names = [...new Set([...Object.keys(current), ...Object.keys(desired)])]
    .filter((n) => !uncompared.includes(n))
    .sort();
  return names
    .filter((n) => current[n] !== desired[n])
    .map((n) => ({ field: `environment.${n}`, from: shown(n, current[n]), to: shown(n, desired[n]) }));
}

/** Configuration fields that differ (code and architecture, which travel with code, are separate). */
export function functionConfigChanges(current: FunctionState, desired: FunctionDesired): FieldChange[] {
  const s = desired.settings;
  const changes: FieldChange[] = [];
  const compare = (field: string, from: unknown, to: unknown) => {
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from, to });
  };
  compare('runtime', current.runtime, s.runtime);
  compare('handler', current.handler, s.handler);
  compare('role', current.roleArn, s.roleArn);
  compare('memory', current.memory, s.memory);
  compare('timeout', current.timeout, s.timeout);
  compare('subnets', current.subnetIds, [...s.subnetIds].sort());
  compare('security groups', current.securityGroupIds, [...s.securityGroupIds].sort());
  changes.push(...environmentChanges(current.environment, s.environment, desired.uncomparedVariables));
  return changes;
}

export function functionCodeChanges(current: FunctionState, desired: FunctionDesired): FieldChange[] {
  return [
    ...(desired.code && desired.code.sha256Base64 !== current.codeSha256
      ? [{ field: 'code', from: current.codeSha256, to: desired.code.sha256Base64 }]
      : []),
    ...(current.architecture !== desired.settings.architecture
      ? [{ field: 'architecture', from: current.architecture, to: desired.settings.architecture }]
      : []),
  ];
}

export function planFunction(
  current: Pick<FunctionCurrent, 'fn' | 'logGroup'>,
  desired: FunctionDesired,
): PlanItem[] {
  const fn = current.fn;
  const s = desired.settings;
  const retention =
    current.logGroup && current.logGroup.retentionDays !== desired.logGroup.retentionDays
      ? [
          {
            field: 'retention days',
            from: current.logGroup.retentionDays ?? 'never expire',
            to: desired.logGroup.retentionDays,
          },
        ]
      : [];
  const fnChanges = fn
    ? [...functionConfigChanges(fn, desired), ...functionCodeChanges(fn, desired)]
    : [
        { field: 'runtime', from: null, to: s.runtime },
        { field: 'memory', from: null, to: s.memory },
        { field: 'timeout', from: null, to: s.timeout },
        { field: 'database', from: null, to: databaseShown(s.environment) },
        ...(desired.code ? [{ field: 'code', from: null, to: desired.code.sha256Base64 }] : []),
      ];
  return [
    createOrUpdate(
      'function',
      'log group',
      desired.logGroup.name,
      current.logGroup !== undefined,
      current.logGroup ? retention : [],
    ),
    createOrUpdate('function', 'Lambda function', desired.name, fn !== undefined, fnChanges),
  ];
}

/** The spinner's words while Lambda waits for an IAM change to reach it. */
const iamProgress =
  (env: StepEnv) =>
  (attempt: number, waitedMs: number, waitingFor: string): void =>
    env.progress(`waiting for ${waitingFor} (attempt ${attempt}, ${Math.round(waitedMs / 1000)} s)`);

/** Make the function and its log group match; returns the function's ARN. */
export async function applyFunction(
  env: StepEnv,
  current: Pick<FunctionCurrent, 'fn' | 'logGroup'>,
  desired: FunctionDesired,
): Promise<string> {
  const { lambda, logs } = env.aws;
  if (!current.logGroup) {
    await createLogGroup(logs, desired.logGroup.name, desired.tags);
    await setLogRetention(logs, desired.logGroup.name, desired.logGroup.retentionDays);
  } else if (current.logGroup.retentionDays !== desired.logGroup.retentionDays) {
    await setLogRetention(logs, desired.logGroup.name, desired.logGroup.retentionDays);
  }
  const fn = current.fn;
  if (!fn) {
    if (!desired.code) throw new Error('creating a function needs its code');
    const arn = await createFunction(
      lambda,
      {
        name: desired.name,
        ...desired.settings,
        zip: desired.code.zip,
        tags: desired.tags,
        ...(desired.description ? { description: desired.description } : {}),
      },
      env.timing.clock,
      iamProgress(env),
    );
    env.progress('waiting for the function to become Active (VPC network interfaces can take a minute)');
    await waitForFunctionReady(lambda, desired.name, env.timing);
    return arn;
  }
  const config = functionConfigChanges(fn, desired);
  if (config.length > 0) {
    const s = desired.settings;
    const fields = new Set(config.map((c) => (c.field.startsWith('environment.') ? 'environment' : c.field)));
    env.progress('updating the function configuration');
    await updateFunctionConfiguration(
      lambda,
      desired.name,
      {
        ...(fields.has('runtime') ? { runtime: s.runtime } : {}),
        ...(fields.has('handler') ? { handler: s.handler } : {}),
        ...(fields.has('role') ? { roleArn: s.roleArn } : {}),
        ...(fields.has('memory') ? { memory: s.memory } : {}),
        ...(fields.has('timeout') ? { timeout: s.timeout } : {}),
        // Variables replace the whole map: keep values not compared here (the password when unknown).
        ...(fields.has('environment')
          ? {
              environment: {
                ...Object.fromEntries(
                  desired.uncomparedVariables.flatMap((n) =>
                    fn.environment[n] !== undefined ? [[n, fn.environment[n]]] : [],
                  ),
                ),
                ...s.environment,
              },
            }
          : {}),
        ...(fields.has('subnets') || fields.has('security groups')
          ? { subnetIds: s.subnetIds, securityGroupIds: s.securityGroupIds }
          : {}),
      },
      env.timing,
      iamProgress(env),
    );
  }
  if (functionCodeChanges(fn, desired).length > 0 && desired.code) {
    env.progress('uploading the new code');
    await updateFunctionCode(
      lambda,
      desired.name,
      { zip: desired.code.zip, architecture: desired.settings.architecture },
      env.timing,
    );
  }
  return fn.arn;
}

const functionArn = (config: ChatbotConfig, s: AwsSession) =>
  `arn:${s.partition}:lambda:${s.region}:${s.account}:function:${config.function.name}`;

/** The desired function with its final environment: the run's secrets and the keys to accept. */
function complete(desired: FunctionDesired, current: FunctionCurrent, ctx: StepContext): FunctionDesired {
  const { config, dbPassword, newKeyValue } = ctx.inputs;
  const environment = environmentFor(config, {
    dbPassword,
    apiKeyValues: acceptedKeyValues(current, newKeyValue),
  });
  return {
    ...desired,
    settings: { ...desired.settings, environment },
    uncomparedVariables: desired.uncomparedVariables.filter((v) => !(v in environment)),
  };
}

export const functionStep = defineStep({
  name: 'function',
  command: 'create-function',
  title: 'Lambda function',
  guideStep: '3',
  options: [{ flags: '--zip <file>', description: 'deploy this zip instead of packaging src/lambda' }],
  needs: ['role', 'network'],
  usesCode: true,
  provides: {
    ref: 'functionArn',
    kind: 'Lambda function',
    idIn: (current: FunctionCurrent) => current.fn?.arn,
    // Lambda function ARNs follow from the account, region and name.
    predict: (config, session) => ({ id: functionArn(config, session) }),
  },
  desired: (ctx) =>
    desiredFunction(
      ctx.inputs.config,
      { roleArn: ctx.refs.get('roleArn'), lambdaSecurityGroupId: ctx.refs.get('lambdaSecurityGroupId') },
      { environment: {}, code: ctx.inputs.code },
    ),
  read: (d) => readFunction(d),
  plan: (current, desired, ctx) => planFunction(current, complete(desired, current, ctx)),
  async apply(env, current, desired, _items, ctx) {
    ctx.refs.require('lambdaSecurityGroupId', 'the function');
    return applyFunction(env, current, complete(desired, current, ctx));
  },
  destroy: {
    options: [
      {
        flags: '--keep-logs',
        description: "keep the log groups (the function's, and the API's access logs)",
      },
    ],
    read: async (d) => {
      const [fn, logGroup] = await Promise.all([d.function(), d.logGroup()]);
      return { exists: fn !== undefined, logGroup: logGroup?.name };
    },
    plan(found, config, flags) {
      return [
        ...(found.exists ? [item('function', 'Lambda function', config.function.name, 'delete')] : []),
        ...(found.logGroup && !flags.keepLogs
          ? [item('function', 'log group', found.logGroup, 'delete')]
          : []),
      ];
    },
    async apply(env, found, config, flags) {
      env.removing(`Lambda function ${config.function.name}`);
      // Its invoke permission goes with it.
      if (found.exists) await deleteFunction(env.aws.lambda, config.function.name);
      env.removing(`log group ${found.logGroup}`);
      if (found.logGroup && !flags.keepLogs) await deleteLogGroup(env.aws.logs, found.logGroup);
    },
  },
});
