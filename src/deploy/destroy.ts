/**
 * `destroy`: remove what deploy made, each step's resources in the reverse of the steps' order
 * (src/deploy/steps.ts): the Next Steps' resources (dashboard, web ACL, access log group, Secrets
 * Manager endpoint), whatever the config says now; alarms; the usage plan (its keys and stages detached first) and the keys;
 * the API; the function and its log group unless kept; the Lambda security group once Lambda has
 * released its network interfaces, and the RDS group's rule for it; the role last. Never the
 * database. Everything is read first (duplicate names refuse before anything goes); every read
 * tolerates absence, so a second run (or an empty account) succeeds.
 */
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import type { PlanItem } from './plan.js';
import type { DeployStep, DestroyEnv, ReadRemoval, StepEnv } from './step.js';
import { STEPS } from './steps.js';

export type DestroyFlags = Readonly<Record<string, unknown>>;

/** What each step would remove, in removal order. */
export type DestroyCurrent = { step: DeployStep; found: ReadRemoval }[];

export async function readForDestroy(deployment: Deployment): Promise<DestroyCurrent> {
  const steps = [...STEPS].reverse();
  const found = await Promise.all(steps.map((step) => step.readRemoval(deployment)));
  return steps.flatMap((step, i) => {
    const f = found[i];
    return f ? [{ step, found: f }] : [];
  });
}

/** What destroy will delete, in order. Pure. */
export function planDestroy(current: DestroyCurrent, config: ChatbotConfig, flags: DestroyFlags): PlanItem[] {
  return current.flatMap(({ found }) => found.plan(config, flags));
}

export async function applyDestroy(
  env: StepEnv & Pick<DestroyEnv, 'report'>,
  current: DestroyCurrent,
  config: ChatbotConfig,
  flags: DestroyFlags,
): Promise<void> {
  // What is being removed, so an AWS error says where destroy stopped.
  let removing = '';
  try {
    for (const { found } of current)
      await found.apply(
        {
          ...env,
          removing: (what) => {
            removing = what;
            env.progress(`removing ${what}`);
          },
        },
        config,
        flags,
      );
  } catch (err) {
    if (err instanceof UserError) throw err;
    const e = err as Error;
    throw new UserError(
      `destroy stopped while removing ${removing}: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`,
      {
        hint: 'Fix the cause (permissions, a resource still in use), then run `chatbot-ops destroy` again: it continues with what is left.',
        cause: err,
      },
    );
  }
}
