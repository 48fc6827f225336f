/**
 * The guide's Next Steps, "Enable X-Ray tracing": active tracing on the function and on the API
 * stage, and AWS's managed AWSXRayDaemonWriteAccess on the function's role (the function sends its
 * segments with it; X-Ray's write actions take no resource, so a managed policy is as narrow as an
 * inline one could be). Opt-in (`tracing.enabled`); switched off, the next deploy turns both off and
 * detaches the policy. Nothing to remove on destroy: the settings go with the function, the stage
 * and the role.
 */
import { type StageState, updateStage } from '../aws/apigateway.js';
import { attachPolicy, detachPolicy } from '../aws/iam.js';
import { type FunctionState, updateFunctionTracing } from '../aws/lambda.js';
import type { Deployment } from '../deployment/deployment.js';
import { optInItem, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const STEP = 'tracing';
export const XRAY_POLICY = 'AWSXRayDaemonWriteAccess';

export interface TracingDesired {
  enabled: boolean;
  functionName: string;
  roleName: string;
  apiName: string;
  stage: string;
  policyArn: string;
}

export interface TracingCurrent {
  fn: FunctionState | undefined;
  stage: StageState | undefined;
  rolePolicies: string[];
}

export async function readTracing(d: Deployment): Promise<TracingCurrent> {
  const [fn, stage, rolePolicies] = await Promise.all([d.function(), d.stage(), d.roleManagedPolicies()]);
  return { fn, stage, rolePolicies };
}

export function planTracing(current: TracingCurrent, desired: TracingDesired): PlanItem[] {
  const on = desired.enabled;
  const fnActive = current.fn?.tracingMode === 'Active';
  const stageOn = current.stage?.tracingEnabled === true;
  return [
    ...optInItem(STEP, 'managed policy', XRAY_POLICY, on, current.rolePolicies.includes(desired.policyArn)),
    ...optInItem(
      STEP,
      'X-Ray tracing',
      `function ${desired.functionName}`,
      on,
      fnActive,
      fnActive === on
        ? []
        : [{ field: 'mode', from: current.fn?.tracingMode ?? null, to: on ? 'Active' : 'PassThrough' }],
    ),
    ...optInItem(
      STEP,
      'X-Ray tracing',
      `stage ${desired.apiName}/${desired.stage}`,
      on,
      stageOn,
      stageOn === on ? [] : [{ field: 'tracingEnabled', from: current.stage ? stageOn : null, to: on }],
    ),
  ];
}

export const tracingStep = defineStep({
  name: STEP,
  command: 'tracing',
  title: 'X-Ray tracing',
  guideStep: 'Next Steps 5',
  description:
    'X-Ray active tracing on the function and the API stage, and the role permission it needs (tracing.enabled)',
  needs: ['role', 'function', 'api'],
  desired: (ctx): TracingDesired => {
    const { config } = ctx.inputs;
    return {
      enabled: config.tracing.enabled,
      functionName: config.function.name,
      roleName: config.function.role,
      apiName: config.api.name,
      stage: config.api.stage,
      policyArn: `arn:${ctx.session.partition}:iam::aws:policy/${XRAY_POLICY}`,
    };
  },
  read: (d) => readTracing(d),
  plan: (current, desired) => planTracing(current, desired),
  async apply(env, _current, desired, items, ctx) {
    const changed = (resource: string) =>
      items.some((i) => i.resource === resource && i.action !== 'unchanged');
    const on = desired.enabled;
    if (changed(XRAY_POLICY)) {
      if (on) await attachPolicy(env.aws.iam, desired.roleName, desired.policyArn);
      else await detachPolicy(env.aws.iam, desired.roleName, desired.policyArn);
    }
    if (changed(`function ${desired.functionName}`)) {
      env.progress(`turning tracing ${on ? 'on' : 'off'} on the function`);
      await updateFunctionTracing(
        env.aws.lambda,
        desired.functionName,
        on ? 'Active' : 'PassThrough',
        env.timing,
      );
    }
    if (changed(`stage ${desired.apiName}/${desired.stage}`)) {
      await updateStage(env.aws.apigateway, ctx.refs.require('apiId', 'stage tracing'), desired.stage, [
        { op: 'replace', path: '/tracingEnabled', value: String(on) },
      ]);
    }
    return undefined;
  },
});
