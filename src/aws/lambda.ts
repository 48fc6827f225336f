/**
 * Lambda, narrowed to the one function: read its configuration, create it (retrying while a fresh
 * role cannot yet be assumed), update code or configuration, wait until it is ready for the next
 * change, manage the API Gateway invoke permission, invoke it, delete it. Nothing here prints.
 */
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  InvalidParameterValueException,
  InvokeCommand,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  RemovePermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { UserError } from '../errors.js';
import type { Clock, Timing } from './timing.js';

export interface FunctionSettings {
  runtime: string;
  handler: string;
  roleArn: string;
  memory: number;
  timeout: number;
  architecture: string;
  environment: Record<string, string>;
  subnetIds: string[];
  securityGroupIds: string[];
}

export interface FunctionState extends FunctionSettings {
  name: string;
  arn: string;
  codeSha256: string;
  state: string | undefined;
  lastUpdateStatus: string | undefined;
  /** X-Ray: `Active` traces every invocation, `PassThrough` (Lambda's default) only sampled callers'. */
  tracingMode: string;
}

/** The function's configuration, or undefined when there is no such function. */
export async function findFunction(lambda: LambdaClient, name: string): Promise<FunctionState | undefined> {
  try {
    const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    return {
      name,
      arn: c.FunctionArn ?? '',
      runtime: c.Runtime ?? '',
      handler: c.Handler ?? '',
      roleArn: c.Role ?? '',
      memory: c.MemorySize ?? 0,
      timeout: c.Timeout ?? 0,
      architecture: c.Architectures?.[0] ?? 'x86_64',
      environment: { ...(c.Environment?.Variables ?? {}) },
      subnetIds: [...(c.VpcConfig?.SubnetIds ?? [])].sort(),
      securityGroupIds: [...(c.VpcConfig?.SecurityGroupIds ?? [])].sort(),
      codeSha256: c.CodeSha256 ?? '',
      state: c.State,
      lastUpdateStatus: c.LastUpdateStatus,
      tracingMode: c.TracingConfig?.Mode ?? 'PassThrough',
    };
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/**
 * IAM PROPAGATION MESSAGES: THE ONE PLACE THAT READS LAMBDA'S ERROR TEXT. IAM is eventually
 * consistent: for a few seconds (rarely a minute) after a role is created or a policy attached,
 * Lambda does not see it, and CreateFunction / UpdateFunctionConfiguration fail with
 * InvalidParameterValueException, distinguishable only by the message. AWS gives no code for either,
 * so each is matched here, with what the spinner says while waiting for it.
 */
const IAM_NOT_YET_VISIBLE: {
  message: RegExp;
  waitingFor: string;
  gaveUp: (role: string) => string;
  hint: string;
}[] = [
  {
    // "The role defined for the function cannot be assumed by Lambda."
    message: /cannot be assumed by Lambda/i,
    waitingFor: 'the new role to be usable by Lambda',
    gaveUp: (role) => `Lambda still cannot assume the role ${role}`,
    hint: "Check the role's trust policy allows lambda.amazonaws.com (`chatbot-ops create-role` puts it back), then re-run; IAM changes can take a minute to propagate.",
  },
  {
    // "The provided execution role does not have permissions to call CreateNetworkInterface on EC2"
    message: /execution role does not have permissions to call \w*NetworkInterface\w* on EC2/i,
    waitingFor: "the role's network-interface permissions to reach Lambda",
    gaveUp: (role) => `Lambda still says the role ${role} may not create network interfaces`,
    hint: 'Check the role has AWSLambdaENIManagementAccess (`chatbot-ops create-role` attaches it), then re-run; IAM changes can take a minute to propagate.',
  },
];

/** Which IAM change Lambda does not see yet, when `err` says so (see IAM_NOT_YET_VISIBLE); else undefined. */
function iamNotYetVisibleEntry(err: unknown) {
  if (!(err instanceof InvalidParameterValueException)) return undefined;
  return IAM_NOT_YET_VISIBLE.find((m) => m.message.test(err.message));
}

/** What Lambda is still waiting to see from IAM, for a spinner; undefined for any other error. */
export function iamNotYetVisible(err: unknown): string | undefined {
  return iamNotYetVisibleEntry(err)?.waitingFor;
}

/** The role-propagation case alone. */
export function isRoleNotYetAssumable(err: unknown): boolean {
  return iamNotYetVisibleEntry(err) === IAM_NOT_YET_VISIBLE[0];
}

/** How long to keep retrying while IAM propagates (usually 5–15 s, rarely a minute). */
export const ROLE_PROPAGATION_BUDGET_MS = 120_000;

/** Called before each retry: the attempt about to be made, the time waited, and what for. */
export type OnIamRetry = (attempt: number, waitedMs: number, waitingFor: string) => void;

/**
 * Send, and send again with growing pauses inside the ~2 minute budget while Lambda reports that an
 * IAM change has not reached it yet (see IAM_NOT_YET_VISIBLE). Any other error is thrown at once.
 */
async function whileIamPropagates<T>(
  clock: Clock,
  roleArn: string,
  send: () => Promise<T>,
  onRetry?: OnIamRetry,
): Promise<T> {
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const waitingFor = iamNotYetVisibleEntry(err);
      if (!waitingFor) throw err;
      const waited = clock.now() - started;
      if (waited >= ROLE_PROPAGATION_BUDGET_MS) {
        throw new UserError(`${waitingFor.gaveUp(roleArn)} after ${Math.round(waited / 1000)} s`, {
          hint: waitingFor.hint,
          cause: err,
        });
      }
      onRetry?.(attempt + 1, waited, waitingFor.waitingFor);
      await clock.sleep(Math.min(2000 * 2 ** (attempt - 1), 15_000));
    }
  }
}

/**
 * Create the function from a zip, retrying while IAM propagates (a new role, a policy attached
 * seconds ago); `onRetry` lets the caller say so on its spinner.
 */
export async function createFunction(
  lambda: LambdaClient,
  fn: FunctionSettings & {
    name: string;
    zip: Uint8Array;
    tags: Record<string, string>;
    /** Default: the API function's ("chatbot traffic backend"). */
    description?: string;
  },
  clock: Clock,
  onRetry?: OnIamRetry,
): Promise<string> {
  const out = await whileIamPropagates(
    clock,
    fn.roleArn,
    () =>
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: fn.name,
          Runtime: fn.runtime as never,
          Handler: fn.handler,
          Role: fn.roleArn,
          MemorySize: fn.memory,
          Timeout: fn.timeout,
          Architectures: [fn.architecture as never],
          Environment: { Variables: fn.environment },
          ...(fn.subnetIds.length > 0
            ? { VpcConfig: { SubnetIds: fn.subnetIds, SecurityGroupIds: fn.securityGroupIds } }
            : {}),
          Code: { ZipFile: fn.zip },
          Tags: fn.tags,
          Description: fn.description ?? 'chatbot traffic backend (managed by chatbot-ops)',
        }),
      ),
    onRetry,
  );
  return out.FunctionArn ?? '';
}

/**
 * Wait until the function can take the next change: State Active (creation and VPC set-up done)
 * and LastUpdateStatus Successful. A second update while one is in progress fails with
 * ResourceConflictException, which is why every mutation is preceded by this.
 */
export async function waitForFunctionReady(
  lambda: LambdaClient,
  name: string,
  timing: Timing,
): Promise<void> {
  const config = {
    client: lambda,
    minDelay: timing.waiter.minDelaySeconds,
    maxDelay: timing.waiter.maxDelaySeconds,
    maxWaitTime: timing.waiter.maxWaitSeconds,
  };
  try {
    await waitUntilFunctionActiveV2(config, { FunctionName: name });
    await waitUntilFunctionUpdatedV2(config, { FunctionName: name });
  } catch (err) {
    throw new UserError(`the function ${name} did not become ready (Active, last update Successful)`, {
      hint: `See its State/LastUpdateStatusReason: aws lambda get-function-configuration --function-name ${name}`,
      cause: err,
    });
  }
}

/**
 * Run one mutation; if Lambda says another update is still in progress (ResourceConflictException),
 * wait for the function to be ready and try again, a few times.
 */
async function withUpdateConflictRetry<T>(
  lambda: LambdaClient,
  name: string,
  timing: Timing,
  send: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof ResourceConflictException) || attempt >= 5) throw err;
      await waitForFunctionReady(lambda, name, timing);
    }
  }
}

/** Upload new code (and architecture, which Lambda only changes together with code). */
export async function updateFunctionCode(
  lambda: LambdaClient,
  name: string,
  code: { zip: Uint8Array; architecture: string },
  timing: Timing,
): Promise<void> {
  await waitForFunctionReady(lambda, name, timing);
  await withUpdateConflictRetry(lambda, name, timing, () =>
    lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: name,
        ZipFile: code.zip,
        Architectures: [code.architecture as never],
      }),
    ),
  );
  await waitForFunctionReady(lambda, name, timing);
}

/**
 * Change only the configuration fields given. A new role or VPC configuration is retried while IAM
 * propagates, as on creation.
 */
export async function updateFunctionConfiguration(
  lambda: LambdaClient,
  name: string,
  changes: Partial<Omit<FunctionSettings, 'architecture'>>,
  timing: Timing,
  onRetry?: OnIamRetry,
): Promise<void> {
  await waitForFunctionReady(lambda, name, timing);
  const vpc =
    changes.subnetIds !== undefined || changes.securityGroupIds !== undefined
      ? {
          VpcConfig: { SubnetIds: changes.subnetIds ?? [], SecurityGroupIds: changes.securityGroupIds ?? [] },
        }
      : {};
  const send = () =>
    lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: name,
        ...(changes.runtime !== undefined ? { Runtime: changes.runtime as never } : {}),
        ...(changes.handler !== undefined ? { Handler: changes.handler } : {}),
        ...(changes.roleArn !== undefined ? { Role: changes.roleArn } : {}),
        ...(changes.memory !== undefined ? { MemorySize: changes.memory } : {}),
        ...(changes.timeout !== undefined ? { Timeout: changes.timeout } : {}),
        ...(changes.environment !== undefined ? { Environment: { Variables: changes.environment } } : {}),
        ...vpc,
      }),
    );
  await withUpdateConflictRetry(lambda, name, timing, () =>
    whileIamPropagates(timing.clock, changes.roleArn ?? name, send, onRetry),
  );
  await waitForFunctionReady(lambda, name, timing);
}

export interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string;
  Condition?: {
    ArnLike?: { 'AWS:SourceArn'?: string };
    StringEquals?: { 'AWS:SourceAccount'?: string };
  };
}

/** The statements of the function's resource policy (empty when it has none). */
export async function listPermissionStatements(
  lambda: LambdaClient,
  name: string,
): Promise<PolicyStatement[]> {
  try {
    const out = await lambda.send(new GetPolicyCommand({ FunctionName: name }));
    if (!out.Policy) return [];
    return ((JSON.parse(out.Policy) as { Statement?: PolicyStatement[] }).Statement ??
      []) as PolicyStatement[];
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return [];
    throw err;
  }
}

/** Let a service principal invoke the function from one source ARN. An existing statement id is kept. */
export async function addInvokePermission(
  lambda: LambdaClient,
  p: {
    functionName: string;
    statementId: string;
    principal: string;
    sourceArn: string;
    /**
     * The account the source belongs to: needed where the source ARN names no account (an S3
     * bucket's does not, and another account could own a bucket of that name later).
     */
    sourceAccount?: string;
  },
): Promise<void> {
  try {
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: p.functionName,
        StatementId: p.statementId,
        Action: 'lambda:InvokeFunction',
        Principal: p.principal,
        SourceArn: p.sourceArn,
        ...(p.sourceAccount ? { SourceAccount: p.sourceAccount } : {}),
      }),
    );
  } catch (err) {
    // The same statement id already present: what we wanted is there (the caller compared it).
    if (err instanceof ResourceConflictException) return;
    throw err;
  }
}

export async function removePermission(
  lambda: LambdaClient,
  functionName: string,
  statementId: string,
): Promise<void> {
  try {
    await lambda.send(new RemovePermissionCommand({ FunctionName: functionName, StatementId: statementId }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
}

/** How Lambda handles the function's asynchronous invocations (S3 notifications are asynchronous). */
export interface AsyncInvokeSettings {
  /** Retries after a failed attempt: 0 to 2. */
  maximumRetryAttempts: number;
  /** Where an event goes once it has failed every attempt (an SQS queue's ARN), if anywhere. */
  onFailure: string | undefined;
}

/** The function's asynchronous-invocation settings, or undefined when it has none of its own. */
export async function getAsyncInvokeSettings(
  lambda: LambdaClient,
  functionName: string,
): Promise<AsyncInvokeSettings | undefined> {
  try {
    const out = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: functionName }));
    return {
      maximumRetryAttempts: out.MaximumRetryAttempts ?? 2,
      onFailure: out.DestinationConfig?.OnFailure?.Destination,
    };
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/**
 * Set retries and the on-failure destination. Lambda checks that the function's role may send to
 * the destination, so a role made seconds ago can be refused while IAM propagates: retried then,
 * within the role-propagation budget.
 */
export async function putAsyncInvokeSettings(
  lambda: LambdaClient,
  functionName: string,
  settings: AsyncInvokeSettings,
  clock: Clock,
): Promise<void> {
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await lambda.send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: functionName,
          MaximumRetryAttempts: settings.maximumRetryAttempts,
          ...(settings.onFailure
            ? { DestinationConfig: { OnFailure: { Destination: settings.onFailure } } }
            : {}),
        }),
      );
      return;
    } catch (err) {
      if (
        !(err instanceof InvalidParameterValueException) ||
        clock.now() - started >= ROLE_PROPAGATION_BUDGET_MS
      )
        throw err;
      await clock.sleep(Math.min(2000 * 2 ** (attempt - 1), 15_000));
    }
  }
}

export interface DirectInvocation {
  /** The handler's statusCode; 502 when the function itself failed (as API Gateway would answer). */
  statusCode: number;
  body: string;
  /** `Unhandled` errors and timeouts: "<errorType>: <errorMessage>". */
  functionError?: string;
  requestId?: string;
  /** The last 4 KB of the invocation's log (LogType Tail), when asked for. */
  logTail?: string;
}

/**
 * Invoke synchronously with `event` as the event (`invoke --direct`, deploy's smoke test, doctor)
 * and decode the answer as the HTTP answer it stands for. With `tailLog` Lambda also returns the
 * end of the invocation's log, which names a database error the response hides.
 */
export async function invokeFunction(
  lambda: LambdaClient,
  functionName: string,
  event: unknown,
  options: { tailLog?: boolean } = {},
): Promise<DirectInvocation> {
  const input = {
    FunctionName: functionName,
    InvocationType: 'RequestResponse' as const,
    Payload: new TextEncoder().encode(JSON.stringify(event)),
    ...(options.tailLog ? { LogType: 'Tail' as const } : {}),
  };
  const out = await lambda.send(new InvokeCommand(input)).catch((err: unknown) => {
    if (err instanceof ResourceNotFoundException) {
      throw new UserError(`no Lambda function named ${functionName}`, {
        hint: 'Deploy it with `chatbot-ops deploy` (or `create-function`), or check --region.',
        cause: err,
      });
    }
    throw err;
  });
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  const extra = {
    // For a synchronous invocation the Invoke request id is the function's awsRequestId.
    ...(out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {}),
    ...(out.LogResult ? { logTail: Buffer.from(out.LogResult, 'base64').toString('utf8') } : {}),
  };
  if (out.FunctionError) {
    let detail = text;
    try {
      const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      detail = [e.errorType, e.errorMessage].filter(Boolean).join(': ') || text;
    } catch {
      // Not JSON: keep the raw text.
    }
    return { statusCode: 502, body: text, functionError: detail || out.FunctionError, ...extra };
  }
  try {
    const r = JSON.parse(text) as { statusCode?: unknown; body?: unknown; isBase64Encoded?: boolean };
    if (typeof r.statusCode === 'number') {
      const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? '');
      return {
        statusCode: r.statusCode,
        body: r.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
        ...extra,
      };
    }
  } catch {
    // Not a proxy response: hand back what came.
  }
  return { statusCode: out.StatusCode ?? 200, body: text, ...extra };
}

/** Delete the function; false when there was none. */
export async function deleteFunction(lambda: LambdaClient, name: string): Promise<boolean> {
  try {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
    return true;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return false;
    throw err;
  }
}

/** Set the function's X-Ray tracing mode, waiting for it to be ready before and after. */
export async function updateFunctionTracing(
  lambda: LambdaClient,
  name: string,
  mode: 'Active' | 'PassThrough',
  timing: Timing,
): Promise<void> {
  await waitForFunctionReady(lambda, name, timing);
  await withUpdateConflictRetry(lambda, name, timing, () =>
    lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: name, TracingConfig: { Mode: mode } }),
    ),
  );
  await waitForFunctionReady(lambda, name, timing);
}

/** The function's reserved concurrency; undefined when none is reserved (or no such function). */
export async function getReservedConcurrency(
  lambda: LambdaClient,
  name: string,
): Promise<number | undefined> {
  try {
    const out = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }));
    return out.ReservedConcurrentExecutions;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/** Reserve concurrency for the function: at most this many instances run at once. */
export async function putReservedConcurrency(
  lambda: LambdaClient,
  name: string,
  count: number,
): Promise<void> {
  await lambda.send(
    new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: count }),
  );
}

/** Remove the reservation: the function shares the account's unreserved concurrency again. */
export async function deleteReservedConcurrency(lambda: LambdaClient, name: string): Promise<void> {
  try {
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: name }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
}

/** The account's concurrency in this region: the limit, and what no function has reserved. */
export async function getAccountConcurrency(
  lambda: LambdaClient,
): Promise<{ limit: number | undefined; unreserved: number | undefined }> {
  const out = await lambda.send(new GetAccountSettingsCommand({}));
  return {
    limit: out.AccountLimit?.ConcurrentExecutions,
    unreserved: out.AccountLimit?.UnreservedConcurrentExecutions,
  };
}
