/**
 * The one place that constructs AWS SDK clients. Every client gets the same region, profile,
 * endpoint override, retry policy, user agent and call counter, so `--endpoint-url` /
 * AWS_ENDPOINT_URL reach all of them (LocalStack and other emulators), AWS can tell chatbot-ops'
 * calls apart, and the benchmark can count calls by kind.
 */
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import type { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { packageVersion } from '../version.js';
import { CALL_FIELD } from './failures.js';
import { createS3Client } from './s3.js';

export interface AwsSettings {
  region?: string;
  profile?: string;
  /** Overrides every service endpoint; the SDK also reads AWS_ENDPOINT_URL itself when this is unset. */
  endpointUrl?: string;
}

export interface AwsClients {
  readonly region: string | undefined;
  /**
   * The endpoint API Gateway calls go to when it is not AWS itself (`--endpoint-url`, else the SDK's
   * AWS_ENDPOINT_URL_API_GATEWAY / AWS_ENDPOINT_URL): an emulator then serves the deployed API at
   * its own address, so invoke URLs must be built from it. Undefined against real AWS.
   */
  readonly endpointUrl?: string | undefined;
  readonly lambda: LambdaClient;
  readonly apigateway: APIGatewayClient;
  readonly iam: IAMClient;
  readonly ec2: EC2Client;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
  readonly sts: STSClient;
  readonly rds: RDSClient;
  readonly wafv2: WAFV2Client;
  readonly s3: S3Client;
}

/** Counts of calls sent, by "Service.Command" (filled by a middleware on every client). */
export type CallCounter = Map<string, number>;

type AnyClient = {
  middlewareStack: {
    add: (
      mw: (
        next: (a: unknown) => Promise<unknown>,
        ctx: { clientName?: string; commandName?: string },
      ) => (a: unknown) => Promise<unknown>,
      o: { step: 'initialize'; priority: 'high'; name: string },
    ) => void;
  };
};

const callName = (context: { clientName?: string; commandName?: string }) =>
  `${(context.clientName ?? 'Client').replace(/Client$/, '')}.${(context.commandName ?? 'Command').replace(/Command$/, '')}`;

function countCalls(client: AnyClient, counter: CallCounter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = callName(context);
      counter.set(key, (counter.get(key) ?? 0) + 1);
      return next(args);
    },
    // First of all: one count per send(), however many attempts the retry middleware makes.
    { step: 'initialize', priority: 'high', name: 'chatbotOpsCallCounter' },
  );
}

/**
 * Put the command's name on every error it throws (hidden, see src/aws/failures.ts): an emulator's
 * HTML error page reaches the caller as a bare SyntaxError, which alone does not say which call
 * the endpoint could not answer.
 */
function nameFailedCalls(client: AnyClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err !== null && typeof err === 'object' && !(CALL_FIELD in err))
          Object.defineProperty(err, CALL_FIELD, { value: callName(context), enumerable: false });
        throw err;
      }
    },
    { step: 'initialize', priority: 'high', name: 'chatbotOpsCallName' },
  );
}

/**
 * The same precedence the SDK applies (explicit endpoint, then the service's own variable, then the
 * global one), so the invoke URL points where the API Gateway client actually sends its calls.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns the variables off in the SDK, so here too.
 */
export function apiGatewayEndpointOverride(
  settings: AwsSettings,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (settings.endpointUrl) return settings.endpointUrl;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_API_GATEWAY || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * How the clients retry. API Gateway's control plane has low fixed per-account quotas that no
 * request can raise (GetResources 5 per 2 s, CreateDeployment 1 per 5 s, UpdateUsagePlan 1 per
 * 20 s), and doctor reads about twenty facts at once: "adaptive" retries throttled calls with
 * backoff like "standard" and also slows the client's own sending once it has been throttled.
 * AWS_RETRY_MODE and AWS_MAX_ATTEMPTS, when set, still win.
 */
export function retrySettings(env: NodeJS.ProcessEnv = process.env): {
  retryMode?: 'adaptive';
  maxAttempts?: number;
} {
  return {
    ...(env.AWS_RETRY_MODE ? {} : { retryMode: 'adaptive' as const }),
    ...(env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: 6 }),
  };
}

/**
 * Build the clients lazily: a command that only talks to Lambda never constructs the EC2 client.
 * The region comes from --region, then the SDK's own chain (AWS_REGION, the profile's config).
 */
export function createAwsClients(
  settings: AwsSettings,
  counter?: CallCounter,
  /** Called once per client after it is built (the benchmark answers calls from its fake account). */
  decorate?: (client: unknown) => void,
): AwsClients {
  const base = {
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.profile ? { profile: settings.profile } : {}),
    ...(settings.endpointUrl ? { endpoint: settings.endpointUrl } : {}),
    ...retrySettings(),
    // Appended to the SDK's own user agent: `chatbot-ops/<version>` in CloudTrail and server logs.
    customUserAgent: [['chatbot-ops', packageVersion()]] as [string, string][],
  };
  const cache = new Map<string, unknown>();
  const lazy = <T>(name: string, make: () => T): T => {
    if (!cache.has(name)) {
      const client = make();
      nameFailedCalls(client as unknown as AnyClient);
      if (counter) countCalls(client as unknown as AnyClient, counter);
      decorate?.(client);
      cache.set(name, client);
    }
    return cache.get(name) as T;
  };
  return {
    region: settings.region,
    endpointUrl: apiGatewayEndpointOverride(settings),
    get lambda() {
      return lazy('lambda', () => new LambdaClient(base));
    },
    get apigateway() {
      return lazy('apigateway', () => new APIGatewayClient(base));
    },
    get iam() {
      return lazy('iam', () => new IAMClient(base));
    },
    get ec2() {
      return lazy('ec2', () => new EC2Client(base));
    },
    get cloudwatch() {
      return lazy('cloudwatch', () => new CloudWatchClient(base));
    },
    get logs() {
      return lazy('logs', () => new CloudWatchLogsClient(base));
    },
    get sts() {
      return lazy('sts', () => new STSClient(base));
    },
    get rds() {
      return lazy('rds', () => new RDSClient(base));
    },
    get wafv2() {
      return lazy('wafv2', () => new WAFV2Client(base));
    },
    get s3() {
      return lazy('s3', () => createS3Client(base));
    },
  };
}
