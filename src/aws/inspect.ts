/**
 * Read-only lookups that `doctor` and `rotate-key` need and the deploy modules (ec2.ts,
 * apigateway.ts, cloudwatch.ts, lambda.ts) do not offer: free addresses and routes of subnets,
 * VPC endpoints, what a deployment actually serves, quota usage, API keys with their creation
 * dates and tags, alarms with their state. Pagination flattened; nothing here prints.
 */
import {
  type APIGatewayClient,
  GetDeploymentCommand,
  GetUsageCommand,
  NotFoundException,
} from '@aws-sdk/client-api-gateway';
import { type CloudWatchClient, DescribeAlarmsForMetricCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeSubnetsCommand, DescribeVpcEndpointsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { isEc2Error } from './ec2.js';

export interface SubnetDetail {
  id: string;
  vpcId: string;
  az: string;
  /** Addresses left for network interfaces (Lambda needs one per subnet and security group set). */
  availableIps: number;
}

/** The subnets with these ids that exist (unknown ids are left out; the caller names them). */
export async function describeSubnetDetails(ec2: EC2Client, subnetIds: string[]): Promise<SubnetDetail[]> {
  if (subnetIds.length === 0) return [];
  try {
    const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }));
    return (out.Subnets ?? []).map((s) => ({
      id: s.SubnetId ?? '',
      vpcId: s.VpcId ?? '',
      az: s.AvailabilityZone ?? '',
      availableIps: s.AvailableIpAddressCount ?? 0,
    }));
  } catch (err) {
    // One unknown id fails the whole call: ask one by one so the known ones still count.
    if (isEc2Error(err, 'InvalidSubnetID.NotFound') && subnetIds.length > 1)
      return (await Promise.all(subnetIds.map((id) => describeSubnetDetails(ec2, [id])))).flat();
    if (isEc2Error(err, 'InvalidSubnetID.NotFound')) return [];
    throw err;
  }
}

export interface VpcEndpointInfo {
  id: string;
  type: string;
  state: string;
  privateDns: boolean;
  subnetIds: string[];
}

/** Interface or gateway endpoints of a VPC for one service, e.g. `com.amazonaws.us-east-1.secretsmanager`. */
export async function findVpcEndpoints(
  ec2: EC2Client,
  vpcId: string,
  serviceName: string,
): Promise<VpcEndpointInfo[]> {
  const found: VpcEndpointInfo[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeVpcEndpointsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'service-name', Values: [serviceName] },
        ],
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    for (const e of page.VpcEndpoints ?? [])
      found.push({
        id: e.VpcEndpointId ?? '',
        type: e.VpcEndpointType ?? '',
        state: (e.State ?? '').toLowerCase(),
        privateDns: Boolean(e.PrivateDnsEnabled),
        subnetIds: e.SubnetIds ?? [],
      });
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

export interface DeployedApi {
  createdDate: Date | undefined;
  /** What the deployment serves: path → verb → method settings at deployment time. */
  methods: Record<string, Record<string, { apiKeyRequired: boolean; authorizationType: string }>>;
}

/**
 * What a deployment serves (embed=apisummary). API Gateway serves a stage from a snapshot taken
 * at deployment time, so a method changed since is not live until the next deployment.
 */
export async function getDeployedApi(
  apigw: APIGatewayClient,
  apiId: string,
  deploymentId: string,
): Promise<DeployedApi | undefined> {
  try {
    const d = await apigw.send(
      new GetDeploymentCommand({ restApiId: apiId, deploymentId, embed: ['apisummary'] }),
    );
    const methods: DeployedApi['methods'] = {};
    for (const [path, verbs] of Object.entries(d.apiSummary ?? {})) {
      methods[path] = {};
      for (const [verb, m] of Object.entries(verbs))
        methods[path][verb] = {
          apiKeyRequired: Boolean(m.apiKeyRequired),
          authorizationType: m.authorizationType ?? 'NONE',
        };
    }
    return { createdDate: d.createdDate, methods };
  } catch (err) {
    if (err instanceof NotFoundException) return undefined;
    throw err;
  }
}

/** First and last day (UTC, YYYY-MM-DD) of the quota period containing `now`. Weeks start on Monday. */
export function quotaPeriodBounds(period: string, now: Date): { start: string; end: string; endsAt: Date } {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  let start: Date;
  let next: Date;
  if (period === 'DAY') {
    start = new Date(Date.UTC(y, m, d));
    next = new Date(Date.UTC(y, m, d + 1));
  } else if (period === 'WEEK') {
    const sinceMonday = (now.getUTCDay() + 6) % 7;
    start = new Date(Date.UTC(y, m, d - sinceMonday));
    next = new Date(Date.UTC(y, m, d - sinceMonday + 7));
  } else {
    start = new Date(Date.UTC(y, m, 1));
    next = new Date(Date.UTC(y, m + 1, 1));
  }
  return { start: day(start), end: day(new Date(next.getTime() - 86_400_000)), endsAt: next };
}

/** Requests a key used and has left in the plan's current quota period, or undefined when API Gateway has no record. */
export async function getQuotaUsage(
  apigw: APIGatewayClient,
  planId: string,
  keyId: string,
  period: { start: string; end: string },
): Promise<{ used: number; remaining: number } | undefined> {
  const out = await apigw.send(
    new GetUsageCommand({ usagePlanId: planId, keyId, startDate: period.start, endDate: period.end }),
  );
  // items: key id → one [used, remaining] pair per day of the range.
  const days = out.items?.[keyId];
  if (!days || days.length === 0) return undefined;
  const used = days.reduce((sum, day) => sum + (day[0] ?? 0), 0);
  const remaining = days.reduce((least, day) => Math.min(least, day[1] ?? least), Number.POSITIVE_INFINITY);
  return { used, remaining: Number.isFinite(remaining) ? remaining : 0 };
}

export interface AlarmStatus {
  name: string;
  state: string;
  reason: string;
  threshold: number | undefined;
}

/** The metric alarms watching one metric with exactly these dimensions, whatever their names. */
export async function findAlarmsForMetric(
  cloudwatch: CloudWatchClient,
  metric: { namespace: string; metricName: string; dimensions: Record<string, string> },
): Promise<AlarmStatus[]> {
  const out = await cloudwatch.send(
    new DescribeAlarmsForMetricCommand({
      Namespace: metric.namespace,
      MetricName: metric.metricName,
      Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
    }),
  );
  return (out.MetricAlarms ?? []).map((a) => ({
    name: a.AlarmName ?? '',
    state: a.StateValue ?? 'INSUFFICIENT_DATA',
    reason: a.StateReason ?? '',
    threshold: a.Threshold,
  }));
}
