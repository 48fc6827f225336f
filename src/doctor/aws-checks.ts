/** Every check `chatbot-ops doctor` runs against the deployment, in the order they are shown. */
import type { AwsFacts } from './aws-facts.js';
import { apiChecks } from './checks/api.js';
import { databaseChecks } from './checks/database.js';
import { functionChecks } from './checks/function.js';
import { networkChecks } from './checks/network.js';
import { nextStepChecks } from './checks/next-steps.js';
import { runtimeChecks } from './checks/runtime.js';
import { usagePlanChecks } from './checks/usage-plan.js';
import type { Check } from './engine.js';

export const AWS_CHECKS: readonly Check<AwsFacts>[] = [
  ...functionChecks,
  ...networkChecks,
  ...apiChecks,
  ...usagePlanChecks,
  ...runtimeChecks,
  ...databaseChecks,
  ...nextStepChecks,
];
