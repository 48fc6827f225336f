/**
 * CloudWatch alarms: read the ones we manage (by name, or every metric alarm a filter picks, with its
 * tags), put one, tag one, delete them; and dashboards by name. Nothing here prints.
 */
import {
  type CloudWatchClient,
  DashboardNotFoundError,
  DeleteAlarmsCommand,
  DeleteDashboardsCommand,
  GetDashboardCommand,
  ListTagsForResourceCommand,
  type MetricAlarm,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  paginateDescribeAlarms,
  ResourceNotFound,
  ResourceNotFoundException,
  TagResourceCommand,
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

function specOf(a: MetricAlarm & { AlarmName: string }): AlarmSpec {
  return {
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
  };
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
    for (const a of page.MetricAlarms ?? [])
      if (a.AlarmName) found.set(a.AlarmName, specOf({ ...a, AlarmName: a.AlarmName }));
  }
  return found;
}

/** An alarm as found with its ARN and tags. */
export interface TaggedAlarm extends AlarmSpec {
  arn: string;
  tags: Record<string, string>;
}

/**
 * Every metric alarm of the region that `pick` keeps, with its tags. Alarms cannot be listed by tag,
 * so every page is read and only the picked ones are asked for their tags (one call each).
 */
export async function findAlarmsWithTags(
  cloudwatch: CloudWatchClient,
  pick: (alarm: AlarmSpec) => boolean,
): Promise<Map<string, TaggedAlarm>> {
  const picked: { spec: AlarmSpec; arn: string }[] = [];
  for await (const page of paginateDescribeAlarms(pagesOf(cloudwatch), { AlarmTypes: ['MetricAlarm'] }))
    for (const a of page.MetricAlarms ?? []) {
      if (!a.AlarmName) continue;
      const spec = specOf({ ...a, AlarmName: a.AlarmName });
      if (pick(spec)) picked.push({ spec, arn: a.AlarmArn ?? '' });
    }
  const found = new Map<string, TaggedAlarm>();
  const tagged = await Promise.all(
    picked.map(async ({ spec, arn }) => {
      try {
        const out = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
        const tags = Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        return { ...spec, arn, tags };
      } catch (err) {
        // Deleted between the list and this call: it is not there any more.
        if (err instanceof ResourceNotFoundException) return undefined;
        throw err;
      }
    }),
  );
  for (const a of tagged) if (a) found.set(a.name, a);
  return found;
}

/** Add or change tags on an alarm (PutMetricAlarm sets tags only when it creates the alarm). */
export async function tagAlarm(
  cloudwatch: CloudWatchClient,
  arn: string,
  tags: Record<string, string>,
): Promise<void> {
  await cloudwatch.send(
    new TagResourceCommand({
      ResourceARN: arn,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

/** Create or replace the alarm (PutMetricAlarm is an upsert by name; `tags` count only when it creates). */
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
