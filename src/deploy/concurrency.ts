/**
 * Reserved concurrency for the function (`function.reservedConcurrency`): at most that many
 * instances run at once, and each holds a small connection pool (src/lambda/database.ts), so the
 * reservation bounds the connections the function can open; `doctor` compares it with the RDS
 * instance's max_connections (the guide's "Database Connection Errors" often start there). Unset,
 * no reservation: a reservation made by hand is removed, as any setting the config does not ask
 * for. Nothing to remove on destroy: it goes with the function.
 */
import { deleteReservedConcurrency, getReservedConcurrency, putReservedConcurrency } from '../aws/lambda.js';
import type { Deployment } from '../deployment/deployment.js';
import { optInItem, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const STEP = 'concurrency';

export interface ConcurrencyDesired {
  functionName: string;
  reserved: number | undefined;
}

/** The function's reserved concurrency (undefined: none, or no function), read once per run. */
export const readReservedConcurrency = (d: Deployment): Promise<number | undefined> =>
  d.cached('reservedConcurrency', async () =>
    (await d.function()) ? getReservedConcurrency(d.aws.lambda, d.config.function.name) : undefined,
  );

export function planConcurrency(current: number | undefined, desired: ConcurrencyDesired): PlanItem[] {
  return optInItem(
    STEP,
    'reserved concurrency',
    desired.functionName,
    desired.reserved !== undefined,
    current !== undefined,
    current === desired.reserved
      ? []
      : [{ field: 'reserved', from: current ?? null, to: desired.reserved ?? null }],
  );
}

export const concurrencyStep = defineStep({
  name: STEP,
  command: 'concurrency',
  title: 'reserved concurrency',
  guideStep: 'Troubleshooting, Database Connection Errors',
  description:
    "Reserve the function's concurrency (function.reservedConcurrency), which bounds its database connections",
  needs: ['function'],
  desired: (ctx): ConcurrencyDesired => ({
    functionName: ctx.inputs.config.function.name,
    reserved: ctx.inputs.config.function.reservedConcurrency,
  }),
  read: (d) => readReservedConcurrency(d),
  plan: (current, desired) => planConcurrency(current, desired),
  async apply(env, _current, desired) {
    if (desired.reserved === undefined) await deleteReservedConcurrency(env.aws.lambda, desired.functionName);
    else await putReservedConcurrency(env.aws.lambda, desired.functionName, desired.reserved);
    return undefined;
  },
});
