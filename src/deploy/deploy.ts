/**
 * One plan across the guide's steps: read what AWS has, compute what each step would change
 * (pure), then apply the steps in order. Used by `deploy`, each single-step command, and `status`.
 * A re-run after a failure starts again from the reads, so it continues from where AWS stands.
 */
import type { AwsClients } from '../aws/clients.js';
import type { AwsSession } from '../aws/sts.js';
import type { Timing } from '../aws/timing.js';
import type { ChatbotConfig } from '../config.js';
import { UserError } from '../errors.js';
import { type AlarmsCurrent, applyAlarms, desiredAlarms, planAlarms, readAlarms } from './alarms.js';
import { type ApiCurrent, applyApi, desiredApi, planApi, readApi } from './api.js';
import {
  applyFunction,
  desiredFunction,
  type FunctionCode,
  type FunctionCurrent,
  functionEnvironment,
  planFunction,
  readFunction,
} from './function.js';
import {
  applyNetwork,
  checkNetwork,
  desiredNetwork,
  type NetworkCurrent,
  planNetwork,
  readNetwork,
} from './network.js';
import { isPending, type PlanItem, pending, STEPS, type StepName } from './plan.js';
import { applyRole, desiredRole, planRole, type RoleCurrent, readRole } from './role.js';
import type { Refs, StepEnv } from './step-env.js';
import {
  acceptedKeyValues,
  applyUsagePlan,
  desiredUsagePlan,
  planUsagePlan,
  readUsagePlan,
  type UsagePlanCurrent,
} from './usage-plan.js';

export interface DeployInputs {
  config: ChatbotConfig;
  /** The zip to deploy; undefined: code not compared (status without a package). */
  code: FunctionCode | undefined;
  /** The database password, or undefined when Secrets Manager is used or it is unknown here. */
  dbPassword: string | undefined;
  /** The value a new API key gets, generated before planning so the function's API_KEYS is final in one pass. */
  newKeyValue: string;
  /** Deploy the API stage even when no API part changed (`--redeploy`). */
  redeployStage?: boolean;
}

export interface DeployCurrent {
  role?: RoleCurrent;
  network?: NetworkCurrent;
  function?: FunctionCurrent;
  api?: ApiCurrent;
  usagePlan?: UsagePlanCurrent;
  alarms?: AlarmsCurrent;
}

export interface DeployPlan {
  steps: StepName[];
  items: PlanItem[];
  warnings: string[];
  current: DeployCurrent;
}

/** Which other steps' resources a step needs (their ids go into its settings). */
const NEEDS: Record<StepName, StepName[]> = {
  role: [],
  network: [],
  function: ['role', 'network', 'usage-plan'],
  api: ['function'],
  'usage-plan': ['api'],
  alarms: [],
};

/** The resource of a step that later steps refer to, for "run X first" messages. */
const PROVIDES: Partial<Record<StepName, string>> = {
  role: 'IAM role',
  network: 'security group',
  function: 'Lambda function',
  api: 'REST API',
};

type ReadEnv = Pick<StepEnv, 'aws' | 'session'>;

const functionArnFor = (config: ChatbotConfig, s: AwsSession) =>
  `arn:${s.partition}:lambda:${s.region}:${s.account}:function:${config.function.name}`;

/** Ids the steps hand on, from what exists now; `<new …>` where a step is yet to create it. */
export function refsFrom(config: ChatbotConfig, session: AwsSession, current: DeployCurrent): Refs {
  return {
    roleArn: current.role?.role?.arn ?? desiredRole(config, session).arn,
    lambdaSecurityGroupId: current.network?.lambdaGroup?.id ?? pending(config.vpc.lambdaSecurityGroupName),
    functionArn: current.function?.fn?.arn ?? functionArnFor(config, session),
    apiId: current.api?.api?.id ?? pending(config.api.name),
  };
}

function readSet(steps: StepName[]): StepName[] {
  const wanted = new Set(steps);
  for (const s of steps) for (const n of NEEDS[s]) wanted.add(n);
  return STEPS.map((s) => s.name).filter((n) => wanted.has(n));
}

/** Read the current state of the given steps (and of the steps they depend on), in parallel. */
export async function readCurrent(
  env: ReadEnv,
  config: ChatbotConfig,
  steps: StepName[],
): Promise<DeployCurrent> {
  const set = new Set(readSet(steps));
  const placeholderRefs = refsFrom(config, env.session, {});
  // Every desired state first: one of them may reject the config (a missing VPC setting), and that
  // must happen before any read is in flight, or the reads already sent would be left dangling.
  const want = {
    role: set.has('role') ? desiredRole(config, env.session) : undefined,
    network: set.has('network') ? desiredNetwork(config) : undefined,
    function: set.has('function')
      ? desiredFunction(config, placeholderRefs, { environment: {}, code: undefined })
      : undefined,
    api: set.has('api') ? desiredApi(config, env.session, placeholderRefs) : undefined,
    alarms: set.has('alarms') ? desiredAlarms(config) : undefined,
  };
  const reads = await Promise.all([
    want.role && readRole(env, want.role),
    want.network && readNetwork(env, want.network),
    want.function && readFunction(env, want.function),
    want.api && readApi(env, want.api),
    set.has('usage-plan')
      ? readUsagePlan(env, { name: config.usagePlan.name, keyName: config.usagePlan.keyName })
      : undefined,
    want.alarms && readAlarms(env, want.alarms),
  ]);
  const [role, network, fn, api, usagePlan, alarms] = reads;
  return {
    ...(role ? { role } : {}),
    ...(network ? { network } : {}),
    ...(fn ? { function: fn } : {}),
    ...(api ? { api } : {}),
    ...(usagePlan ? { usagePlan } : {}),
    ...(alarms ? { alarms } : {}),
  };
}

/** Plan one step against what was read, with the ids known so far. Pure. */
export function planStep(
  step: StepName,
  current: DeployCurrent,
  inputs: DeployInputs,
  session: AwsSession,
  refs: Refs,
): PlanItem[] {
  const { config } = inputs;
  switch (step) {
    case 'role':
      return planRole(current.role as RoleCurrent, desiredRole(config, session));
    case 'network':
      return planNetwork(current.network as NetworkCurrent, desiredNetwork(config));
    case 'function':
      return planFunction(current.function as FunctionCurrent, functionDesired(current, inputs, refs));
    case 'api':
      return planApi(
        current.api as ApiCurrent,
        desiredApi(config, session, refs),
        inputs.redeployStage === true,
      );
    case 'usage-plan':
      return planUsagePlan(current.usagePlan as UsagePlanCurrent, desiredUsagePlan(config, refs));
    case 'alarms':
      return planAlarms(current.alarms as AlarmsCurrent, desiredAlarms(config));
  }
}

function functionDesired(current: DeployCurrent, inputs: DeployInputs, refs: Refs) {
  const keys = current.usagePlan ? acceptedKeyValues(current.usagePlan, inputs.newKeyValue) : [];
  const environment = functionEnvironment(inputs.config, {
    dbPassword: inputs.dbPassword,
    apiKeyValues: keys,
  });
  return desiredFunction(inputs.config, refs, { environment, code: inputs.code });
}

/**
 * Read and plan the given steps. A step whose prerequisite (from a step not being run) does not
 * exist yet is a UserError naming the command to run first.
 */
export async function readAndPlan(
  env: ReadEnv,
  inputs: DeployInputs,
  steps: StepName[],
): Promise<DeployPlan> {
  const current = await readCurrent(env, inputs.config, steps);
  const refs = refsFrom(inputs.config, env.session, current);
  const items: PlanItem[] = [];
  const warnings: string[] = [];
  if (current.network && steps.includes('network'))
    warnings.push(...checkNetwork(current.network, desiredNetwork(inputs.config)).warnings);
  for (const step of STEPS.map((s) => s.name)) {
    if (!steps.includes(step)) continue;
    for (const need of NEEDS[step]) {
      if (steps.includes(need) || !PROVIDES[need]) continue;
      const prerequisite = planStep(need, current, inputs, env.session, refs).find(
        (i) => i.kind === PROVIDES[need],
      );
      if (prerequisite?.action === 'create') {
        const command = STEPS.find((s) => s.name === need)?.command;
        throw new UserError(`the ${prerequisite.kind} ${prerequisite.resource} does not exist yet`, {
          hint: `Run \`chatbot-ops ${command}\` first, or \`chatbot-ops deploy\` for everything.`,
        });
      }
    }
    items.push(...planStep(step, current, inputs, env.session, refs));
  }
  return { steps, items, warnings, current };
}

export interface ApplyOptions {
  /** Called when a step starts, with a progress callback for its spinner; `done` when it ends. */
  onStep?: (step: (typeof STEPS)[number]) => {
    progress: (text: string) => void;
    done: (ok: boolean, error?: unknown) => void;
  };
}

/** What applying produced: the ids of what now exists. */
export interface ApplyResult {
  refs: Refs;
  /** The named API key's value (a secret: print only with --show-key). */
  apiKeyValue: string | undefined;
}

/**
 * Apply the planned steps in order. Each step is re-planned with the ids the earlier steps just
 * produced (a new security group's id, the new API's id), against the same reads.
 */
export async function applyPlan(
  aws: AwsClients,
  session: AwsSession,
  timing: Timing,
  inputs: DeployInputs,
  plan: DeployPlan,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const { config } = inputs;
  const current = plan.current;
  const refs = refsFrom(config, session, current);
  for (const step of STEPS) {
    if (!plan.steps.includes(step.name)) continue;
    const items = planStep(step.name, current, inputs, session, refs);
    if (items.every((i) => i.action === 'unchanged')) continue;
    const hooks = options.onStep?.(step);
    const env: StepEnv = { aws, session, timing, progress: hooks?.progress ?? (() => {}) };
    try {
      switch (step.name) {
        case 'role':
          refs.roleArn = await applyRole(
            env,
            current.role as RoleCurrent,
            desiredRole(config, session),
            items,
          );
          break;
        case 'network':
          refs.lambdaSecurityGroupId = await applyNetwork(
            env,
            current.network as NetworkCurrent,
            desiredNetwork(config),
          );
          break;
        case 'function':
          if (isPending(refs.lambdaSecurityGroupId))
            throw new Error('the function needs the security group id');
          refs.functionArn = await applyFunction(
            env,
            current.function as FunctionCurrent,
            functionDesired(current, inputs, refs),
          );
          break;
        case 'api':
          refs.apiId = await applyApi(
            env,
            current.api as ApiCurrent,
            desiredApi(config, session, refs),
            items,
          );
          break;
        case 'usage-plan':
          await applyUsagePlan(
            env,
            current.usagePlan as UsagePlanCurrent,
            desiredUsagePlan(config, refs),
            inputs.newKeyValue,
          );
          break;
        case 'alarms':
          await applyAlarms(env, current.alarms as AlarmsCurrent, desiredAlarms(config));
          break;
      }
      hooks?.done(true);
    } catch (err) {
      hooks?.done(false, err);
      throw stepFailure(step, items, err);
    }
  }
  const apiKeyValue = current.usagePlan ? (current.usagePlan.key?.value ?? inputs.newKeyValue) : undefined;
  return { refs, apiKeyValue };
}

/** A failure names the step, the resource it was working on, and how to continue. */
function stepFailure(step: (typeof STEPS)[number], items: PlanItem[], err: unknown): UserError {
  const pendingItems = items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind} ${i.resource}`);
  const message = (err as Error)?.message ?? String(err);
  const name =
    (err as Error)?.name && (err as Error).name !== 'Error' && (err as Error).name !== 'UserError'
      ? `${(err as Error).name}: `
      : '';
  const hint = err instanceof UserError && err.hint ? `${err.hint} ` : '';
  // The next plan compares the stage's deployed methods (key requirement) with the config, but not
  // the deployed integration: a changed integration left undeployed needs an explicit redeploy.
  const staleStage =
    step.name === 'api' && items.some((i) => i.kind === 'integration' && i.action === 'update')
      ? 'If the stage was not deployed after the integration change, re-run with --redeploy. '
      : '';
  return new UserError(
    `step "${step.command}" (guide step ${step.guideStep}) failed on ${pendingItems.join(', ') || step.title}: ${name}${message}`,
    {
      hint: `${hint}${staleStage}Fix the cause, then re-run: it continues from what already exists (nothing is created twice).`,
      cause: err,
    },
  );
}
