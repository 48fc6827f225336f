/**
 * Every deploy step, in the order `deploy` applies them (destroy removes in the reverse order).
 * `deploy`, each step's own command, `status`, `destroy` and the help all iterate this list: a new
 * step is its own file (see src/deploy/step.ts) and one line here.
 */
import { alarmsStep } from './alarms.js';
import { apiStep } from './api.js';
import { functionStep } from './function.js';
import { networkStep } from './network.js';
import { roleStep } from './role.js';
import type { DeployStep } from './step.js';
import { usagePlanStep } from './usage-plan.js';

export const STEPS: readonly DeployStep[] = [
  roleStep,
  networkStep,
  functionStep,
  apiStep,
  usagePlanStep,
  alarmsStep,
];
