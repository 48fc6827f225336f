/**
 * Every deploy step, in the order `deploy` applies them (destroy removes in the reverse order).
 * `deploy`, each step's own command, `status`, `destroy` and the help all iterate this list: a new
 * step is its own file (see src/deploy/step.ts) and one line here.
 */
import { accessLogsStep } from './access-logs.js';
import { alarmsStep } from './alarms.js';
import { apiStep } from './api.js';
import { concurrencyStep } from './concurrency.js';
import { dashboardStep } from './dashboard.js';
import { functionStep } from './function.js';
import { networkStep } from './network.js';
import { roleStep } from './role.js';
import { secretsEndpointStep } from './secrets-endpoint.js';
import type { DeployStep } from './step.js';
import { tracingStep } from './tracing.js';
import { usagePlanStep } from './usage-plan.js';
import { wafStep } from './waf.js';

export const STEPS: readonly DeployStep[] = [
  roleStep,
  networkStep,
  functionStep,
  apiStep,
  usagePlanStep,
  alarmsStep,
  // The opt-ins of the guide's Next Steps (each off unless the config switches it on).
  secretsEndpointStep,
  concurrencyStep,
  tracingStep,
  accessLogsStep,
  wafStep,
  dashboardStep,
];
