/**
 * One plan across the deploy steps (src/deploy/steps.ts): read what AWS has through the deployment
 * model, compute what each step would change (pure), then apply the steps in order. Used by
 * `deploy`, each single-step command, and `status`. A re-run after a failure starts again from the
 * reads, so it continues from where AWS stands.
 */
import type { AwsClients } from '../aws/clients.js';
import type { AwsSession } from '../aws/sts.js';
import type { Timing } from '../aws/timing.js';
import { type Deployment, openDeployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import type { PlanItem, StepName } from './plan.js';
import { type DeployInputs, type DeployStep, type ReadStep, Refs, type StepContext } from './step.js';
import { STEPS } from './steps.js';

export type { DeployInputs } from './step.js';

export interface DeployPlan {
  steps: StepName[];
  items: PlanItem[];
  warnings: string[];
  /** Every step read for this plan (those run, and those they need), by name. */
  read: ReadonlyMap<StepName, ReadStep>;
}

interface ReadEnv {
  aws: AwsClients;
  session: AwsSession;
  /** Reads already made in this run, to share; opened from `aws` and the config when absent. */
  deployment?: Deployment;
}

/** The step with this name; an unknown name is a programming error. */
function stepNamed(name: StepName): DeployStep {
  const step = STEPS.find((s) => s.name === name);
  if (!step) throw new Error(`no deploy step named ${name}`);
  return step;
}

/** The steps to read: those to run and those whose ids they need, in the list's order. */
function readSet(steps: StepName[]): DeployStep[] {
  const wanted = new Set(steps);
  for (const s of steps) for (const n of stepNamed(s).needs) wanted.add(n);
  return STEPS.filter((s) => wanted.has(s.name));
}

/** A step's reads; every step planned was read first. */
function readOf(read: ReadonlyMap<StepName, ReadStep>, step: DeployStep): ReadStep {
  const found = read.get(step.name);
  if (!found) throw new Error(`the step ${step.name} was not read`);
  return found;
}

/** The ids the steps hand on: from what exists, else predicted from the config, else pending. */
function refsFrom(inputs: DeployInputs, session: AwsSession, read: ReadonlyMap<StepName, ReadStep>): Refs {
  const refs = new Refs();
  for (const step of STEPS) {
    if (!step.provides) continue;
    const id = read.get(step.name)?.providedId();
    if (id) refs.set(step.provides.ref, id);
    else step.provides.initial(refs, inputs.config, session);
  }
  return refs;
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
  const deployment = env.deployment ?? openDeployment(env.aws, inputs.config);
  const toRead = readSet(steps);
  const before: StepContext = {
    inputs,
    session: env.session,
    refs: refsFrom(inputs, env.session, new Map()),
  };
  // Every desired state first: one of them may reject the config (a missing VPC setting), and that
  // must happen before any read is in flight, or the reads already sent would be left dangling.
  const prepared = toRead.map((step) => ({ step, prepared: step.prepare(before) }));
  const read = new Map(
    await Promise.all(
      prepared.map(async ({ step, prepared: p }) => [step.name, await p.read(deployment)] as const),
    ),
  );
  const ctx: StepContext = { inputs, session: env.session, refs: refsFrom(inputs, env.session, read) };
  const items: PlanItem[] = [];
  const warnings: string[] = [];
  for (const step of STEPS) {
    if (!steps.includes(step.name)) continue;
    const current = readOf(read, step);
    warnings.push(...current.warnings(ctx));
    for (const need of step.needs.map(stepNamed)) {
      if (steps.includes(need.name) || !need.provides) continue;
      const kind = need.provides.kind;
      const prerequisite = read
        .get(need.name)
        ?.plan(ctx)
        .find((i) => i.kind === kind);
      if (prerequisite?.action === 'create') {
        throw new UserError(`the ${prerequisite.kind} ${prerequisite.resource} does not exist yet`, {
          hint: `Run \`chatbot-ops ${need.command}\` first, or \`chatbot-ops deploy\` for everything.`,
        });
      }
    }
    items.push(...current.plan(ctx));
  }
  return { steps, items, warnings, read };
}

export interface ApplyOptions {
  /** Called when a step starts, with a progress callback for its spinner; `done` when it ends. */
  onStep?: (step: DeployStep) => {
    progress: (text: string) => void;
    done: (ok: boolean, error?: unknown) => void;
  };
}

/** What applying produced: the ids of what now exists, and the steps' report values. */
export interface ApplyResult {
  refs: Refs;
  /** By name; `apiKey` is the value of the key deploy keeps (a secret: print only with --show-key). */
  outputs: Record<string, string>;
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
  const ctx: StepContext = { inputs, session, refs: refsFrom(inputs, session, plan.read) };
  const outputs: Record<string, string> = {};
  for (const step of STEPS) {
    if (!plan.steps.includes(step.name)) continue;
    const current = readOf(plan.read, step);
    Object.assign(outputs, current.outputs(ctx));
    const items = current.plan(ctx);
    if (items.every((i) => i.action === 'unchanged')) continue;
    const hooks = options.onStep?.(step);
    try {
      const id = await current.apply(
        { aws, session, timing, progress: hooks?.progress ?? (() => {}) },
        ctx,
        items,
      );
      if (id && step.provides) ctx.refs.set(step.provides.ref, id);
      hooks?.done(true);
    } catch (err) {
      hooks?.done(false, err);
      throw stepFailure(step, items, err);
    }
  }
  return { refs: ctx.refs, outputs };
}

/** A failure names the step, the resource it was working on, and how to continue. */
function stepFailure(step: DeployStep, items: PlanItem[], err: unknown): UserError {
  const pendingItems = items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind} ${i.resource}`);
  const message = (err as Error)?.message ?? String(err);
  const name =
    (err as Error)?.name && (err as Error).name !== 'Error' && (err as Error).name !== 'UserError'
      ? `${(err as Error).name}: `
      : '';
  const hint = err instanceof UserError && err.hint ? `${err.hint} ` : '';
  const stepHint = step.failureHint(items);
  // The guide's numbered steps read "guide step 3"; the others name their section ("guide: Next Steps 5").
  const guide = /^\d/.test(step.guideStep) ? `guide step ${step.guideStep}` : `guide: ${step.guideStep}`;
  return new UserError(
    `step "${step.command}" (${guide}) failed on ${pendingItems.join(', ') || step.title}: ${name}${message}`,
    {
      hint: `${hint}${stepHint ? `${stepHint} ` : ''}Fix the cause, then re-run: it continues from what already exists (nothing is created twice).`,
      cause: err,
    },
  );
}
