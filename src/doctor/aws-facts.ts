/**
 * What `doctor` knows about the deployment, read from AWS once per run. The resources found by the
 * config's names come from the deployment model (src/deployment/deployment.ts: the same reads and
 * the same duplicate-name and current-key policies as deploy, invoke and rotate-key); the rest
 * (routes, endpoints, quota, alarms by metric, the role the function really has, the logs, the live
 * calls) is doctor's own. Each fact is a memoized read: the first check that asks for it sends the
 * call, every other check awaits the same promise. A fact whose prerequisite is missing (no
 * credentials, no function, no API) makes the asking check skip with the reason, so one missing
 * piece shows as one fail and the rest as skips.
 */
import {
  type ApiKeyDetail,
  type DeploymentInfo,
  invokeUrl,
  type ResourceInfo,
  type RestApiInfo,
  type UsagePlanInfo,
} from '../aws/apigateway.js';
import type { AwsClients } from '../aws/clients.js';
import {
  describeSubnetRouting,
  findSecurityGroup,
  findVpcEndpoints,
  listSubnets,
  type SecurityGroupState,
  type SubnetInfo,
  type SubnetRouting,
  type VpcEndpointInfo,
} from '../aws/ec2.js';
import { getInlinePolicy, listAttachedPolicyArns, listInlinePolicyNames } from '../aws/iam.js';
import { type AlarmStatus, findAlarmsForMetric, getQuotaUsage, quotaPeriodBounds } from '../aws/inspect.js';
import {
  type DirectInvocation,
  type FunctionState,
  getAccountConcurrency,
  invokeFunction,
  type PolicyStatement,
} from '../aws/lambda.js';
import { filterLogEvents, functionLogGroup, type LogEvent } from '../aws/log-events.js';
import type { LogGroupState } from '../aws/logs.js';
import {
  type DbInstanceInfo,
  engineVersionStatus,
  findDbInstanceByEndpoint,
  userParameter,
} from '../aws/rds.js';
import { type AwsSession, parseArn, resolveAwsSession } from '../aws/sts.js';
import { callApi } from '../client/api-client.js';
import type { ChatbotConfig } from '../config.js';
import { readAccessLogGroup, readAccountCloudWatchRole } from '../deploy/access-logs.js';
import { readReservedConcurrency } from '../deploy/concurrency.js';
import { readDashboard } from '../deploy/dashboard.js';
import { readWebAcl } from '../deploy/waf.js';
import { DuplicateNameError, openDeployment } from '../deployment/deployment.js';
import { memoize, required, skipBecause } from './engine.js';
import { createIngestFacts } from './ingest-facts.js';

/** One HTTP answer from the deployed API. */
export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

/** One `health` POST through the backend's HTTP client, with the key or without any, timed. */
export async function callHealth(url: string, apiKey: string | null): Promise<ApiAnswer> {
  const r = await callApi(url, JSON.stringify({ intent: 'health' }), { apiKey, timeoutMs: 35_000 });
  return { status: r.status, headers: r.headers, body: r.text, ms: r.ms };
}

export interface AwsFactsOptions {
  config: ChatbotConfig;
  aws: AwsClients;
  /** `--endpoint-url` / AWS_ENDPOINT_URL: the invoke URL takes the emulator's form. */
  endpointUrl?: string;
  /** Send the live API calls here instead of the invoke URL (custom domains, tests). */
  apiUrl?: string;
  now?: () => Date;
  /** Skip the live checks (they invoke the function and count against the quota). */
  offline?: boolean;
}

/** Parameters a validating backend refuses with 400 INVALID_PARAMS: an injection attempt and an out-of-range limit. */
export const BAD_INPUT_EVENT = {
  intent: 'get_access_logs',
  params: { ip_address: "10.0.0.1' OR '1'='1", limit: -1 },
};

/** The health intent's direct invocation, timed. */
export interface HealthProbe extends DirectInvocation {
  ms: number;
}

export interface ApiProbe {
  url: string;
  withKey: ApiAnswer;
  withoutKey: ApiAnswer;
}

export interface RoleFacts {
  name: string;
  attached: string[];
  inline: { name: string; document: unknown }[];
}

export type AwsFacts = ReturnType<typeof createAwsFacts>;

/** Build the memoized facts for one doctor run. Nothing is read until a check asks. */
export function createAwsFacts(o: AwsFactsOptions) {
  const { config, aws } = o;
  const now = o.now ?? (() => new Date());
  const secrets = new Set<string>();
  const d = openDeployment(aws, config);
  /** A name that several resources share is a missing prerequisite for the checks that need one. */
  const unique = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (err instanceof DuplicateNameError) skipBecause(err.message);
      throw err;
    }
  };

  const sessionOutcome = memoize(async (): Promise<{ session: AwsSession } | { error: Error }> => {
    try {
      return { session: await resolveAwsSession(aws) };
    } catch (err) {
      return { error: err as Error };
    }
  });
  const session = async (): Promise<AwsSession> => {
    const s = await sessionOutcome();
    if ('error' in s) skipBecause('no usable AWS credentials or region (see the first check)');
    return s.session;
  };
  const after = <T>(read: () => Promise<T>) =>
    memoize(async () => {
      await session();
      return read();
    });

  const fn = after(() => d.function());
  const deployedFn = async (): Promise<FunctionState> =>
    required(await fn(), `the function ${config.function.name} does not exist`);
  const inVpc = async (): Promise<FunctionState> => {
    const f = await deployedFn();
    if (f.subnetIds.length === 0) skipBecause('the function is not in a VPC');
    return f;
  };
  const subnets = memoize(
    async (): Promise<SubnetInfo[]> => listSubnets(aws.ec2, { subnetIds: (await inVpc()).subnetIds }),
  );
  const vpcId = async (): Promise<string> =>
    required((await subnets())[0]?.vpcId, "the function's subnets were not found");
  const routing = memoize(
    async (): Promise<Map<string, SubnetRouting>> =>
      describeSubnetRouting(aws.ec2, await vpcId(), (await inVpc()).subnetIds),
  );
  const lambdaGroups = memoize(async (): Promise<SecurityGroupState[]> => {
    const ids = (await inVpc()).securityGroupIds;
    const groups = await Promise.all(ids.map((id) => findSecurityGroup(aws.ec2, id)));
    return groups.filter((g): g is SecurityGroupState => g !== undefined);
  });
  const rdsGroup = after(async (): Promise<SecurityGroupState | undefined> => {
    if (!config.vpc.rdsSecurityGroupId) skipBecause('vpc.rdsSecurityGroupId is not in the config');
    return d.rdsSecurityGroup();
  });
  const secretsEndpoints = memoize(async (): Promise<VpcEndpointInfo[]> => {
    const s = await session();
    return findVpcEndpoints(aws.ec2, await vpcId(), `com.amazonaws.${s.region}.secretsmanager`);
  });
  /** The security groups of the Secrets Manager endpoints, by id (those that exist). */
  const secretsEndpointGroups = memoize(async (): Promise<SecurityGroupState[]> => {
    const ids = [...new Set((await secretsEndpoints()).flatMap((e) => e.securityGroupIds))];
    const groups = await Promise.all(ids.map((id) => findSecurityGroup(aws.ec2, id)));
    return groups.filter((g): g is SecurityGroupState => g !== undefined);
  });

  const restApis = after(() => d.restApis());
  const restApi = async (): Promise<RestApiInfo> =>
    required(await unique(after(() => d.restApi())), `there is no REST API named ${config.api.name}`);
  const resource = async (): Promise<ResourceInfo | undefined> => {
    await restApi();
    return (await d.resources()).find((r) => r.path === `/${config.api.resource}`);
  };
  const stage = async () => {
    await restApi();
    return d.stage();
  };
  const deployed = async (): Promise<DeploymentInfo | undefined> => {
    required(await stage(), `the stage ${config.api.stage} does not exist`);
    return d.stageDeployment();
  };
  const permissions = async (): Promise<PolicyStatement[]> => {
    await deployedFn();
    return d.functionPermissions();
  };
  const invokeUrlOf = async (): Promise<string> => {
    const s = await session();
    const api = await restApi();
    return invokeUrl({
      apiId: api.id,
      region: s.region,
      stage: config.api.stage,
      resource: config.api.resource,
      ...(o.endpointUrl ? { endpointUrl: o.endpointUrl } : {}),
    });
  };

  const usagePlans = after(() => d.usagePlans());
  const usagePlan = async (): Promise<UsagePlanInfo> =>
    required(
      await unique(after(() => d.usagePlan())),
      `there is no usage plan named ${config.usagePlan.name}`,
    );
  const planKeyIds = async (): Promise<ReadonlySet<string>> => {
    await usagePlan();
    return d.planKeyIds();
  };
  const apiKeys = after(async (): Promise<ApiKeyDetail[]> => {
    const keys = await d.apiKeys();
    for (const k of keys) if (k.value) secrets.add(k.value);
    return keys;
  });
  /** The key callers use (the deployment model's current key); skip when there is none. */
  const currentKey = async (): Promise<ApiKeyDetail> => {
    await Promise.all([apiKeys(), usagePlan()]);
    return required(
      await d.currentKey(),
      `no enabled key named ${config.usagePlan.keyName} is on the usage plan`,
    );
  };
  const quota = memoize(async () => {
    const plan = await usagePlan();
    if (!plan.quota.limit || !plan.quota.period) skipBecause('the usage plan has no quota');
    const bounds = quotaPeriodBounds(plan.quota.period, now());
    const usage = await getQuotaUsage(aws.apigateway, plan.id, (await currentKey()).id, bounds);
    return { limit: plan.quota.limit, period: plan.quota.period, endsAt: bounds.endsAt, usage };
  });

  const alarms = after(
    async (): Promise<{ lambdaErrors: AlarmStatus[]; api4xx: AlarmStatus[]; api5xx: AlarmStatus[] }> => {
      const stage = { ApiName: config.api.name, Stage: config.api.stage };
      const [lambdaErrors, api4xx, api5xx] = await Promise.all([
        findAlarmsForMetric(aws.cloudwatch, {
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          dimensions: { FunctionName: config.function.name },
        }),
        findAlarmsForMetric(aws.cloudwatch, {
          namespace: 'AWS/ApiGateway',
          metricName: '4XXError',
          dimensions: stage,
        }),
        findAlarmsForMetric(aws.cloudwatch, {
          namespace: 'AWS/ApiGateway',
          metricName: '5XXError',
          dimensions: stage,
        }),
      ]);
      return { lambdaErrors, api4xx, api5xx };
    },
  );
  const logGroupName = functionLogGroup(config.function.name);
  const logGroup = after((): Promise<LogGroupState | undefined> => d.logGroup());
  const recentProblems = memoize(async (): Promise<LogEvent[]> => {
    required(await logGroup(), `the log group ${logGroupName} does not exist`);
    const end = now().getTime();
    return filterLogEvents(aws.logs, {
      logGroupName,
      startTime: end - 15 * 60_000,
      endTime: end,
      // Runtime timeouts, the function's own ERROR lines, and crashes the runtime reports.
      filterPattern: '?"Task timed out" ?ERROR ?"Runtime."',
      limit: 500,
    });
  });
  const role = memoize(async (): Promise<RoleFacts> => {
    const arn = (await deployedFn()).roleArn;
    const name = parseArn(arn).resource.split('/').pop() ?? '';
    const [attached, inlineNames] = await Promise.all([
      listAttachedPolicyArns(aws.iam, name),
      listInlinePolicyNames(aws.iam, name),
    ]);
    const inline = await Promise.all(
      inlineNames.map(async (n) => ({ name: n, document: await getInlinePolicy(aws.iam, name, n) })),
    );
    return { name, attached, inline };
  });

  const health = memoize(async (): Promise<HealthProbe> => {
    if (o.offline) skipBecause('--offline: no live calls');
    const f = await deployedFn();
    const started = Date.now();
    const r = await invokeFunction(aws.lambda, f.name, { intent: 'health' }, { tailLog: true });
    return { ...r, ms: Date.now() - started };
  });
  /** A request with hostile parameters, sent directly: the answer must be a 400 that gives nothing away. */
  const badInput = memoize(async (): Promise<DirectInvocation> => {
    if (o.offline) skipBecause('--offline: no live calls');
    const f = await deployedFn();
    return invokeFunction(aws.lambda, f.name, BAD_INPUT_EVENT);
  });
  const apiProbe = memoize(async (): Promise<ApiProbe> => {
    if (o.offline) skipBecause('--offline: no live calls');
    const url = o.apiUrl ?? (await invokeUrlOf());
    const key = await currentKey();
    const [withKey, withoutKey] = await Promise.all([
      callHealth(url, key.value ?? ''),
      callHealth(url, null),
    ]);
    return { url, withKey, withoutKey };
  });

  // The Next Steps the config can switch on: read through the same functions their deploy steps use.
  const webAcl = after(() => readWebAcl(d));
  const dashboard = after(() => readDashboard(d));
  const accessLogGroup = after(() => readAccessLogGroup(d));
  const accountCloudWatchRole = after(() => readAccountCloudWatchRole(d));
  /** The function's reserved concurrency (undefined: none). */
  const reservedConcurrency = memoize(async (): Promise<number | undefined> => {
    await deployedFn();
    return readReservedConcurrency(d);
  });
  const accountConcurrency = after(() => getAccountConcurrency(aws.lambda));

  /** The RDS instance behind database.host (undefined: none has it); skip when the config names no host. */
  const dbLookup = after(async (): Promise<DbInstanceInfo | undefined> => {
    const host = config.database.host;
    if (!host)
      skipBecause(
        'database.host is not in the config (with database.secretArn the endpoint is in the secret, which the CLI does not read)',
      );
    return findDbInstanceByEndpoint(aws.rds, host);
  });
  const dbInstance = async (): Promise<DbInstanceInfo> =>
    required(
      await dbLookup(),
      `no RDS instance in this account and region has the endpoint ${config.database.host}`,
    );
  /** Whether RDS still offers the instance's engine version: available, deprecated, or undefined (not listed). */
  const engineStatus = memoize(async (): Promise<string | undefined> => {
    const db = await dbInstance();
    return engineVersionStatus(aws.rds, db.engine, db.engineVersion);
  });
  /** max_connections as the instance's parameter group sets it; undefined for the engine's default. */
  const maxConnectionsParameter = memoize(async (): Promise<{ group: string; value: string } | undefined> => {
    const db = await dbInstance();
    // AWS's default groups (default.<engine><version>) keep the default formula: no need to ask.
    for (const group of db.parameterGroups.filter((g) => !g.startsWith('default.'))) {
      const value = await userParameter(aws.rds, group, 'max_connections');
      if (value !== undefined) return { group, value };
    }
    return undefined;
  });

  return {
    config,
    now,
    sessionOutcome,
    session,
    fn,
    deployedFn,
    inVpc,
    subnets,
    vpcId,
    routing,
    lambdaGroups,
    rdsGroup,
    secretsEndpoints,
    secretsEndpointGroups,
    restApis,
    restApi,
    resource,
    stage,
    deployed,
    permissions,
    invokeUrl: invokeUrlOf,
    usagePlans,
    usagePlan,
    planKeyIds,
    apiKeys,
    currentKey,
    quota,
    alarms,
    logGroupName,
    logGroup,
    recentProblems,
    role,
    health,
    badInput,
    apiProbe,
    /** The ingest path's facts (src/doctor/ingest-facts.ts). */
    ingest: createIngestFacts({ d, session, now, offline: Boolean(o.offline) }),
    webAcl,
    dashboard,
    accessLogGroup,
    accountCloudWatchRole,
    reservedConcurrency,
    accountConcurrency,
    dbLookup,
    dbInstance,
    engineStatus,
    maxConnectionsParameter,
    /** Values that must never reach the output: the keys read so far, the local DB password. */
    secrets: (): string[] => [
      ...secrets,
      ...(process.env[config.database.passwordEnv]
        ? [process.env[config.database.passwordEnv] as string]
        : []),
      // The ingest function's own login, when it has one.
      ...(config.ingest.dbUser && process.env[config.ingest.dbPasswordEnv]
        ? [process.env[config.ingest.dbPasswordEnv] as string]
        : []),
    ],
  };
}
