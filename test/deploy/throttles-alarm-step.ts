/**
 * A deploy step written the way a new one is added (docs/deploy.md, "Adding a deploy step"): this one
 * file, and one line in src/deploy/steps.ts (registry.test.ts adds that line with vi.mock). It keeps
 * a third alarm, on the function's Throttles, and removes it on destroy.
 */
import { type AlarmSpec, deleteAlarms, findAlarms, putAlarm } from '../../src/aws/cloudwatch.js';
import type { ChatbotConfig } from '../../src/config.js';
import { alarmChanges } from '../../src/deploy/alarms.js';
import { createOrUpdate, item } from '../../src/deploy/plan.js';
import { defineStep } from '../../src/deploy/step.js';
import type { Deployment } from '../../src/deployment/deployment.js';

const alarmName = (config: ChatbotConfig) => `${config.function.name}-throttles`;

/** The read this step adds to the deployment model, cached for the run. */
export const readThrottlesAlarm = (d: Deployment): Promise<AlarmSpec | undefined> =>
  d.cached('throttlesAlarm', async () =>
    (await findAlarms(d.aws.cloudwatch, [alarmName(d.config)])).get(alarmName(d.config)),
  );

export const throttlesAlarmStep = defineStep({
  name: 'throttles-alarm',
  command: 'create-throttles-alarm',
  title: 'Throttles alarm',
  guideStep: '8',
  description: 'CloudWatch alarm for throttled Lambda invocations (an example step)',
  options: [{ flags: '--throttles-threshold <n>', description: 'alarm above this many throttles' }],
  desired: (ctx): AlarmSpec => ({
    name: alarmName(ctx.inputs.config),
    description: `Throttles of ${ctx.inputs.config.function.name} (chatbot-ops)`,
    namespace: 'AWS/Lambda',
    metricName: 'Throttles',
    dimensions: { FunctionName: ctx.inputs.config.function.name },
    statistic: 'Sum',
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: Number(ctx.inputs.flags?.throttlesThreshold ?? 0),
    comparison: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: [],
  }),
  read: (d) => readThrottlesAlarm(d),
  plan: (current, desired) => [
    createOrUpdate(
      'throttles-alarm',
      'alarm',
      desired.name,
      current !== undefined,
      current ? alarmChanges(current, desired) : [],
    ),
  ],
  async apply(env, _current, desired, _items, ctx) {
    await putAlarm(env.aws.cloudwatch, desired, ctx.inputs.config.tags);
    return undefined;
  },
  destroy: {
    read: (d) => readThrottlesAlarm(d),
    plan: (found) => (found ? [item('throttles-alarm', 'alarm', found.name, 'delete')] : []),
    async apply(env, found) {
      if (!found) return;
      env.removing(`alarm ${found.name}`);
      await deleteAlarms(env.aws.cloudwatch, [found.name]);
    },
  },
});
