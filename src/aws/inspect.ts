/**
 * Read-only lookups that only `doctor` needs: quota usage, alarms found by their metric (whatever
 * their names) with their state. (VPC endpoints moved to src/aws/ec2.ts, where deploy makes them.)
 * Nothing here prints.
 */
import { type APIGatewayClient, paginateGetUsage } from '@aws-sdk/client-api-gateway';
import { type CloudWatchClient, DescribeAlarmsForMetricCommand } from '@aws-sdk/client-cloudwatch';
import { pagesOf } from './pages.js';

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
  // items: key id → one [used, remaining] pair per day of the range.
  const days: number[][] = [];
  for await (const page of paginateGetUsage(pagesOf(apigw), {
    usagePlanId: planId,
    keyId,
    startDate: period.start,
    endDate: period.end,
  }))
    days.push(...(page.items?.[keyId] ?? []));
  if (days.length === 0) return undefined;
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
