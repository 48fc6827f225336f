/**
 * Guide step 8, and one alarm the guide lacks: Lambda Errors and API Gateway 4XXError (the guide's
 * two), and API Gateway 5XXError. The backend answers a database outage with 503 and a slow query
 * with 504 as ordinary responses, so Lambda's Errors metric stays at 0 while every caller fails; the
 * stage's 5XXError counts them. Each alarm is over its threshold in one period, missing data not
 * breaching, with the SNS action when configured; put only when missing or different.
 *
 * The alarms carry the owner tags (src/deployment/deployment.ts): an alarm of this deployment under
 * a name the config no longer gives (after api.stage or function.name changed) is removed.
 */
import { type AlarmSpec, deleteAlarms, putAlarm, type TaggedAlarm, tagAlarm } from '../aws/cloudwatch.js';
import type { ChatbotConfig } from '../config.js';
import { alarmNames, ownerTags } from '../deployment/deployment.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

export interface AlarmsDesired {
  alarms: AlarmSpec[];
  tags: Record<string, string>;
}

/** Ours, by name (see Deployment.alarms): today's names and any a rename left. */
export type AlarmsCurrent = Map<string, AlarmSpec & Partial<Pick<TaggedAlarm, 'arn' | 'tags'>>>;

export function desiredAlarms(config: ChatbotConfig): AlarmsDesired {
  if (!config.alarms.enabled) return { alarms: [], tags: ownerTags(config) };
  const names = alarmNames(config);
  const a = config.alarms;
  const minutes = a.periodSeconds / 60;
  const common = {
    statistic: 'Sum' as const,
    periodSeconds: a.periodSeconds,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold' as const,
    treatMissingData: 'notBreaching' as const,
    alarmActions: a.snsTopicArn ? [a.snsTopicArn] : [],
  };
  const stage = { ApiName: config.api.name, Stage: config.api.stage };
  return {
    tags: ownerTags(config),
    alarms: [
      {
        ...common,
        name: names.lambdaErrors,
        description: `More than ${a.lambdaErrorsThreshold} errors of ${config.function.name} in ${minutes} min (chatbot-ops)`,
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: config.function.name },
        threshold: a.lambdaErrorsThreshold,
      },
      {
        ...common,
        name: names.api4xx,
        description: `More than ${a.api4xxThreshold} 4XX answers of ${config.api.name}/${config.api.stage} in ${minutes} min (chatbot-ops)`,
        namespace: 'AWS/ApiGateway',
        metricName: '4XXError',
        dimensions: stage,
        threshold: a.api4xxThreshold,
      },
      {
        ...common,
        name: names.api5xx,
        description: `More than ${a.api5xxThreshold} 5XX answers of ${config.api.name}/${config.api.stage} in ${minutes} min: database unreachable (503), queries timing out (504), the function failing (chatbot-ops)`,
        namespace: 'AWS/ApiGateway',
        metricName: '5XXError',
        dimensions: stage,
        threshold: a.api5xxThreshold,
      },
    ],
  };
}

const FIELDS: (keyof AlarmSpec)[] = [
  'description',
  'namespace',
  'metricName',
  'dimensions',
  'statistic',
  'periodSeconds',
  'evaluationPeriods',
  'threshold',
  'comparison',
  'treatMissingData',
  'alarmActions',
];

export function alarmChanges(current: AlarmSpec, desired: AlarmSpec): FieldChange[] {
  const sortKeys = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort())
      : Array.isArray(v)
        ? [...v].sort()
        : v;
  return FIELDS.filter(
    (f) => JSON.stringify(sortKeys(current[f])) !== JSON.stringify(sortKeys(desired[f])),
  ).map((f) => ({
    field: f,
    from: current[f],
    to: desired[f],
  }));
}

/** The desired tags an existing alarm lacks (or has with another value). */
function missingTags(
  current: Record<string, string> | undefined,
  desired: Record<string, string>,
): FieldChange[] {
  const have = current ?? {};
  const lacking = Object.entries(desired).filter(([k, v]) => have[k] !== v);
  return lacking.length === 0 ? [] : [{ field: 'tags', from: have, to: { ...have, ...desired } }];
}

const watched = (a: AlarmSpec) =>
  `${a.namespace} ${a.metricName} ${Object.entries(a.dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;

export function planAlarms(current: AlarmsCurrent, desired: AlarmsDesired): PlanItem[] {
  const wanted = new Set(desired.alarms.map((a) => a.name));
  const items = desired.alarms.map((a) => {
    const existing = current.get(a.name);
    return createOrUpdate(
      'alarms',
      'alarm',
      a.name,
      existing !== undefined,
      existing
        ? [...alarmChanges(existing, a), ...missingTags(existing.tags, desired.tags)]
        : [
            { field: 'watches', from: null, to: watched(a) },
            { field: 'threshold', from: null, to: `> ${a.threshold} in ${a.periodSeconds} s` },
          ],
    );
  });
  // Ours under a name the config no longer gives: what a rename left behind.
  for (const a of current.values())
    if (!wanted.has(a.name))
      items.push(
        item('alarms', 'alarm', a.name, 'delete', [{ field: 'watches', from: watched(a), to: null }]),
      );
  return items;
}

export async function applyAlarms(
  env: StepEnv,
  current: AlarmsCurrent,
  desired: AlarmsDesired,
): Promise<void> {
  const { cloudwatch } = env.aws;
  for (const a of desired.alarms) {
    const existing = current.get(a.name);
    if (!existing || alarmChanges(existing, a).length > 0) await putAlarm(cloudwatch, a, desired.tags);
    // PutMetricAlarm sets tags only when it creates the alarm.
    if (existing?.arn && missingTags(existing.tags, desired.tags).length > 0)
      await tagAlarm(cloudwatch, existing.arn, desired.tags);
  }
  const wanted = new Set(desired.alarms.map((a) => a.name));
  const leftovers = [...current.keys()].filter((n) => !wanted.has(n)).sort();
  if (leftovers.length > 0) await deleteAlarms(cloudwatch, leftovers);
}

export const alarmsStep = defineStep({
  name: 'alarms',
  command: 'alarms',
  title: 'CloudWatch alarms',
  guideStep: '8',
  desired: (ctx) => desiredAlarms(ctx.inputs.config),
  read: (d) => d.alarms(),
  plan: (current, desired) => planAlarms(current, desired),
  async apply(env, current, desired) {
    await applyAlarms(env, current, desired);
    return undefined;
  },
  destroy: {
    read: async (d) => [...(await d.alarms()).keys()].sort(),
    plan: (names) => names.map((a) => item('alarms', 'alarm', a, 'delete')),
    async apply(env, names) {
      env.removing(`alarms ${names.join(', ')}`);
      if (names.length > 0) await deleteAlarms(env.aws.cloudwatch, names);
    },
  },
});
