/**
 * CloudWatch alarms by name: read the ones we manage, put one, delete them; and dashboards by name.
 * Nothing here prints.
 */
import {
  type CloudWatchClient,
  DashboardNotFoundError,
  DeleteAlarmsCommand,
  DeleteDashboardsCommand,
  GetDashboardCommand,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  paginateDescribeAlarms,
  ResourceNotFound,
} from '@aws-sdk/client-cloudwatch';
import { pagesOf } from './pages.js';

/** The alarm fields chatbot-ops sets, in the shape PutMetricAlarm takes them. */
export interface AlarmSpec {
  name: string;
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic: 'Sum' | 'Average' | 'Maximum';
  periodSeconds: number;
  evaluationPeriods: number;
  threshold: number;
  comparison: 'GreaterThanThreshold';
  treatMissingData: 'notBreaching';
  alarmActions: string[];
}

/** The named metric alarms that exist, keyed by name, in the same shape as AlarmSpec. */
export async function findAlarms(
  cloudwatch: CloudWatchClient,
  names: string[],
): Promise<Map<string, AlarmSpec>> {
  const found = new Map<string, AlarmSpec>();
  if (names.length === 0) return found;
  for await (const page of paginateDescribeAlarms(pagesOf(cloudwatch), {
    AlarmNames: names,
    AlarmTypes: ['MetricAlarm'],
  })) {
    for (const a of page.MetricAlarms ?? []) {
      if (!a.AlarmName) continue;
      found.set(a.AlarmName, {
        name: a.AlarmName,
        description: a.AlarmDescription ?? '',
        namespace: a.Namespace ?? '',
        metricName: a.MetricName ?? '',
        dimensions: Object.fromEntries((a.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? ''])),
        statistic: (a.Statistic ?? 'Sum') as AlarmSpec['statistic'],
        periodSeconds: a.Period ?? 0,
        evaluationPeriods: a.EvaluationPeriods ?? 0,
        threshold: a.Threshold ?? 0,
        comparison: (a.ComparisonOperator ?? '') as AlarmSpec['comparison'],
        treatMissingData: (a.TreatMissingData ?? '') as AlarmSpec['treatMissingData'],
        alarmActions: [...(a.AlarmActions ?? [])].sort(),
      });
    }
  }
  return found;
}

/** Create or replace the alarm (PutMetricAlarm is an upsert by name). */
export async function putAlarm(
  cloudwatch: CloudWatchClient,
  alarm: AlarmSpec,
  tags: Record<string, string>,
): Promise<void> {
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: alarm.name,
      AlarmDescription: alarm.description,
      Namespace: alarm.namespace,
      MetricName: alarm.metricName,
      Dimensions: Object.entries(alarm.dimensions).map(([Name, Value]) => ({ Name, Value })),
      Statistic: alarm.statistic,
      Period: alarm.periodSeconds,
      EvaluationPeriods: alarm.evaluationPeriods,
      Threshold: alarm.threshold,
      ComparisonOperator: alarm.comparison,
      TreatMissingData: alarm.treatMissingData,
      AlarmActions: alarm.alarmActions,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

/** Delete the named alarms; names that do not exist are ignored by CloudWatch. */
export async function deleteAlarms(cloudwatch: CloudWatchClient, names: string[]): Promise<void> {
  if (names.length > 0) await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names }));
}

/** A dashboard's body (JSON text), or undefined when there is no dashboard by that name. */
export async function getDashboard(cloudwatch: CloudWatchClient, name: string): Promise<string | undefined> {
  try {
    const out = await cloudwatch.send(new GetDashboardCommand({ DashboardName: name }));
    return out.DashboardBody ?? '';
  } catch (err) {
    // The service names the error ResourceNotFound; the SDK may map it to either class.
    if (err instanceof DashboardNotFoundError || err instanceof ResourceNotFound) return undefined;
    throw err;
  }
}

/** Create or replace the dashboard (PutDashboard is an upsert by name). */
export async function putDashboard(cloudwatch: CloudWatchClient, name: string, body: string): Promise<void> {
  await cloudwatch.send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body }));
}

/** Delete dashboards; one that does not exist fails the call, so only name those that do. */
export async function deleteDashboards(cloudwatch: CloudWatchClient, names: string[]): Promise<void> {
  if (names.length > 0) await cloudwatch.send(new DeleteDashboardsCommand({ DashboardNames: names }));
}
