/**
 * What doctor reads about the ingest path (docs/ingest.md), once per run: the ingest function, the
 * logs bucket and its notification, the function's network (route tables, the S3 gateway endpoint,
 * its security groups, S3's prefix list), its failure queue and alarm, failed loads in its log, and,
 * live, its login's grants and the newest row (the `grants` and `stats` direct invocations). The
 * resources found by the config's names are read through the deploy steps' own readers, so doctor
 * and deploy agree on what exists. Every fact skips its check when the ingest path is off or its
 * prerequisite is missing.
 */
import {
  describeSubnetRouting,
  findManagedPrefixList,
  findSecurityGroup,
  findVpcEndpoints,
  listSubnets,
  liveEndpoint,
  type SecurityGroupState,
  type SubnetRouting,
  type VpcEndpointInfo,
} from '../aws/ec2.js';
import { type AlarmStatus, findAlarmsForMetric } from '../aws/inspect.js';
import { type FunctionState, invokeFunction } from '../aws/lambda.js';
import { filterLogEvents, type LogEvent } from '../aws/log-events.js';
import type { AwsSession } from '../aws/sts.js';
import type { LoginPrivileges } from '../db/grants.js';
import type { DbStats } from '../db/stats.js';
import { readIngestFunctionState } from '../deploy/ingest-function.js';
import { type IngestNames, ingestNames } from '../deploy/ingest-names.js';
import { readTrigger, type TriggerCurrent } from '../deploy/ingest-trigger.js';
import { type BucketCurrent, readLogsBucket } from '../deploy/logs-bucket.js';
import type { Deployment } from '../deployment/deployment.js';
import type { DirectAnswer } from '../ingest/handler.js';
import { memoize, required, skipBecause } from './engine.js';

/** How far back doctor looks for failed loads in the ingest function's log. */
export const FAILURE_LOOKBACK_MS = 24 * 3_600_000;

export interface IngestFactsOptions {
  d: Deployment;
  session: () => Promise<AwsSession>;
  now: () => Date;
  offline: boolean;
}

export type IngestFacts = ReturnType<typeof createIngestFacts>;

export function createIngestFacts(o: IngestFactsOptions) {
  const { d } = o;
  const { config, aws } = d;

  const names = memoize(async (): Promise<IngestNames> => {
    if (!config.ingest.enabled) skipBecause('the ingest path is off (ingest.enabled is false)');
    return ingestNames(config, await o.session());
  });
  const state = async () => readIngestFunctionState(d, await names());
  const fn = async (): Promise<FunctionState | undefined> => (await state()).fn();
  const deployedFn = async (): Promise<FunctionState> =>
    required(await fn(), `the ingest function ${config.ingest.functionName} does not exist`);
  const bucket = async (): Promise<BucketCurrent> => readLogsBucket(d, await names());
  const trigger = async (): Promise<TriggerCurrent> => readTrigger(d, await names());

  const vpcId = memoize(async (): Promise<string> => {
    const f = await deployedFn();
    if (f.subnetIds.length === 0) skipBecause('the ingest function is not in a VPC');
    const subnets = await listSubnets(aws.ec2, { subnetIds: f.subnetIds });
    return required(subnets[0]?.vpcId, "the ingest function's subnets were not found");
  });
  const routing = memoize(
    async (): Promise<Map<string, SubnetRouting>> =>
      describeSubnetRouting(aws.ec2, await vpcId(), (await deployedFn()).subnetIds),
  );
  const s3Endpoints = memoize(
    async (): Promise<VpcEndpointInfo[]> =>
      findVpcEndpoints(aws.ec2, await vpcId(), (await names()).s3Service, 'Gateway').then((all) =>
        all.filter(liveEndpoint),
      ),
  );
  const groups = memoize(async (): Promise<SecurityGroupState[]> => {
    const ids = (await deployedFn()).securityGroupIds;
    const found = await Promise.all(ids.map((id) => findSecurityGroup(aws.ec2, id)));
    return found.filter((g): g is SecurityGroupState => g !== undefined);
  });
  const s3PrefixList = memoize(async () => findManagedPrefixList(aws.ec2, (await names()).s3Service));

  const asyncSettings = async () => {
    await deployedFn();
    return (await state()).async();
  };
  const queue = async () => (await state()).queue();
  const errorAlarms = memoize(
    async (): Promise<AlarmStatus[]> =>
      findAlarmsForMetric(aws.cloudwatch, {
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: (await names()).functionName },
      }),
  );
  /** The function's "load failed" lines of the last 24 hours (none when it has no log group yet). */
  const failedLoads = memoize(async (): Promise<LogEvent[]> => {
    const n = await names();
    if (!(await (await state()).logGroup())) return [];
    const end = o.now().getTime();
    return filterLogEvents(aws.logs, {
      logGroupName: n.logGroup,
      startTime: end - FAILURE_LOOKBACK_MS,
      endTime: end,
      filterPattern: '"load failed"',
      limit: 200,
    });
  });

  /** A direct action's answer: its result, or what went wrong (the check says it); skipped with --offline. */
  const direct = <T>(action: string) =>
    memoize(async (): Promise<{ result: T } | { error: string }> => {
      if (o.offline) skipBecause('--offline: no live calls');
      const f = await deployedFn();
      const out = await invokeFunction(aws.lambda, f.name, { action });
      if (out.functionError) return { error: `the function failed: ${out.functionError}` };
      let answer: DirectAnswer;
      try {
        answer = JSON.parse(out.body) as DirectAnswer;
      } catch {
        return { error: `the function answered something that is not JSON (${out.body.slice(0, 80)})` };
      }
      return answer.ok ? { result: answer.result as T } : { error: answer.error.message };
    });

  return {
    names,
    fn,
    deployedFn,
    bucket,
    trigger,
    routing,
    s3Endpoints,
    groups,
    s3PrefixList,
    asyncSettings,
    queue,
    errorAlarms,
    failedLoads,
    grants: direct<LoginPrivileges>('grants'),
    stats: direct<DbStats>('stats'),
  };
}
