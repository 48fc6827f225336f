/**
 * Guide step 8: the two alarms, idempotent by name: Lambda Errors and API Gateway 4XXError over
 * their thresholds in one 5-minute period, missing data not breaching, optional SNS action. Put
 * only when the alarm is missing or differs.
 */
import { type AlarmSpec, deleteAlarms, putAlarm } from '../aws/cloudwatch.js';
import type { ChatbotConfig } from '../config.js';
import { alarmNames } from '../deployment/deployment.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

export interface AlarmsDesired {
  alarms: AlarmSpec[];
  tags: Record<string, string>;
}

export type AlarmsCurrent = Map<string, AlarmSpec>;

export function desiredAlarms(config: ChatbotConfig): AlarmsDesired {
  if (!config.alarms.enabled) return { alarms: [], tags: config.tags };
  const names = alarmNames(config);
  const a = config.alarms;
  const common = {
    statistic: 'Sum' as const,
    periodSeconds: a.periodSeconds,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold' as const,
    treatMissingData: 'notBreaching' as const,
    alarmActions: a.snsTopicArn ? [a.snsTopicArn] : [],
  };
  return {
    tags: config.tags,
    alarms: [
      {
        ...common,
        name: names.lambdaErrors,
        description: `More than ${a.lambdaErrorsThreshold} errors of ${config.function.name} in ${a.periodSeconds / 60} min (chatbot-ops)`,
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: config.function.name },
        threshold: a.lambdaErrorsThreshold,
      },
      {
        ...common,
        name: names.api4xx,
        description: `More than ${a.api4xxThreshold} 4XX answers of ${config.api.name}/${config.api.stage} in ${a.periodSeconds / 60} min (chatbot-ops)`,
        namespace: 'AWS/ApiGateway',
        metricName: '4XXError',
        dimensions: { ApiName: config.api.name, Stage: config.api.stage },
        threshold: a.api4xxThreshold,
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

export function planAlarms(current: AlarmsCurrent, desired: AlarmsDesired): PlanItem[] {
  return desired.alarms.map((a) => {
    const existing = current.get(a.name);
    return createOrUpdate(
      'alarms',
      'alarm',
      a.name,
      existing !== undefined,
      existing
        ? alarmChanges(existing, a)
        : [{ field: 'threshold', from: null, to: `> ${a.threshold} in ${a.periodSeconds} s` }],
    );
  });
}

export async function applyAlarms(
  env: StepEnv,
  current: AlarmsCurrent,
  desired: AlarmsDesired,
): Promise<void> {
  for (const a of desired.alarms) {
    const existing = current.get(a.name);
    if (!existing || alarmChanges(existing, a).length > 0)
      await putAlarm(env.aws.cloudwatch, a, desired.tags);
  }
}

export const alarmsStep = defineStep({
  name: 'alarms',
  command: 'alarms',
  title: 'CloudWatch alarms',
  guideStep: '8',
  description: 'CloudWatch alarms for Lambda errors and API 4XX (guide step 8)',
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
