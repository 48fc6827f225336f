/**
 * The usage plan and key (guide step 6; Troubleshooting "401", "403 Forbidden (API Key)", "429 Too
 * Many Requests"; Security Checklist "Lambda validates API key", "API keys rotated regularly",
 * "Rate limiting configured").
 */
import { DuplicateNameError } from '../../deployment/deployment.js';
import { hashApiKey } from '../../lambda/api-keys.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, warn } from '../engine.js';

const CREATE_PLAN = 'Run `chatbot-ops create-usage-plan` (guide step 6)';
/** Keys older than this are due for rotation (Security Checklist: "API keys rotated regularly"). */
const KEY_MAX_AGE_DAYS = 90;

export const usagePlanChecks: Check<AwsFacts>[] = [
  {
    id: 'plan.exists',
    group: 'Usage plan',
    title: 'usage plan',
    async run(f) {
      const plans = await f.usagePlans();
      const name = f.config.usagePlan.name;
      if (plans.length === 0)
        return fail(
          `no usage plan named ${name}: no key can be used, every call answers 403`,
          `${CREATE_PLAN}.`,
        );
      if (plans.length > 1) {
        const duplicates = new DuplicateNameError(
          'usage plan',
          name,
          plans.map((p) => p.id),
          'usagePlan.name',
        );
        return fail(duplicates.message, duplicates.hint ?? '');
      }
      const p = plans[0];
      return pass(
        `${name} (${p?.id}): rate ${p?.throttle.rateLimit ?? '-'}/s, burst ${p?.throttle.burstLimit ?? '-'}, quota ${p?.quota.limit ?? '-'} per ${p?.quota.period ?? '-'}`,
      );
    },
  },
  {
    id: 'plan.stage',
    group: 'Usage plan',
    title: 'usage plan on the API stage',
    async run(f) {
      const [plan, api] = await Promise.all([f.usagePlan(), f.restApi()]);
      const stage = f.config.api.stage;
      if (!plan.apiStages.some((s) => s.apiId === api.id && s.stage === stage)) {
        const on = plan.apiStages.map((s) => `${s.apiId}/${s.stage}`).join(', ') || 'no stage';
        return fail(
          `the usage plan is on ${on}, not ${api.id}/${stage}: keys are refused with 403 Forbidden`,
          `${CREATE_PLAN}: it adds the API stage ${f.config.api.name}/${stage} to the plan ("Add API Stage").`,
        );
      }
      return pass(`${plan.name} covers ${api.id}/${stage}`);
    },
  },
  {
    id: 'plan.key',
    group: 'Usage plan',
    title: 'API key enabled and on the plan',
    async run(f) {
      const [keys, onPlan] = await Promise.all([f.apiKeys(), f.planKeyIds()]);
      const name = f.config.usagePlan.keyName;
      if (keys.length === 0)
        return fail(`no API key named ${name}`, `${CREATE_PLAN}: it creates the key and attaches it.`);
      const enabled = keys.filter((k) => k.enabled);
      if (enabled.length === 0) {
        return fail(
          `the key${keys.length === 1 ? '' : 's'} named ${name} ${keys.length === 1 ? 'is' : 'are'} disabled: calls answer 403`,
          `Enable it in API Gateway, or ${CREATE_PLAN}.`,
        );
      }
      const attached = enabled.filter((k) => onPlan.has(k.id));
      if (attached.length === 0) {
        return fail(
          `the key ${enabled.map((k) => k.id).join(', ')} is not associated with the usage plan: calls with it answer 403 Forbidden`,
          `${CREATE_PLAN}: it adds the key to the plan ("Add API Key to Usage Plan").`,
        );
      }
      if (attached.length > 1) {
        return warn(
          `${attached.length} keys named ${name} are on the plan (${attached.map((k) => k.id).join(', ')}): a rotation is in progress`,
          'Once every client uses the new key, run `chatbot-ops rotate-key --finish`.',
        );
      }
      const current = attached[0];
      const ageDays = current?.createdDate
        ? Math.floor((f.now().getTime() - current.createdDate.getTime()) / 86_400_000)
        : undefined;
      if (ageDays !== undefined && ageDays > KEY_MAX_AGE_DAYS) {
        return warn(
          `key ${current?.id} is ${ageDays} days old`,
          'Rotate it: `chatbot-ops rotate-key`, then `rotate-key --finish` once clients use the new key.',
        );
      }
      return pass(
        `key ${current?.id} enabled and on the plan${ageDays === undefined ? '' : `, ${ageDays} days old`}`,
      );
    },
  },
  {
    id: 'plan.throttle',
    group: 'Usage plan',
    title: 'throttle: burst ≥ rate',
    async run(f) {
      const plan = await f.usagePlan();
      const { rateLimit, burstLimit } = plan.throttle;
      if (rateLimit === undefined || burstLimit === undefined) {
        return warn(
          'the usage plan has no throttle: only the account-wide limit protects the backend',
          `${CREATE_PLAN}: it sets rate ${f.config.usagePlan.rateLimit}/s and burst ${f.config.usagePlan.burstLimit}.`,
        );
      }
      if (burstLimit < rateLimit) {
        return fail(
          `burst ${burstLimit} is below rate ${rateLimit}/s: API Gateway answers 429 Too Many Requests well below the rate`,
          `Set usagePlan.burstLimit to at least usagePlan.rateLimit (the guide: rate 100, burst 200), then ${CREATE_PLAN}.`,
        );
      }
      const want = f.config.usagePlan;
      if (rateLimit !== want.rateLimit || burstLimit !== want.burstLimit) {
        return warn(
          `rate ${rateLimit}/s, burst ${burstLimit}; the config says ${want.rateLimit}/${want.burstLimit}`,
          `${CREATE_PLAN} to apply the config.`,
        );
      }
      return pass(`rate ${rateLimit}/s, burst ${burstLimit}`);
    },
  },
  {
    id: 'plan.quota',
    group: 'Usage plan',
    title: 'quota left this period',
    async run(f) {
      const q = await f.quota();
      const until = q.endsAt.toISOString().slice(0, 10);
      if (!q.usage)
        return pass(`no calls recorded this ${q.period.toLowerCase()}; ${q.limit} allowed until ${until}`);
      const { used, remaining } = q.usage;
      const seen = `${used} used, ${remaining} of ${q.limit} left until ${until}`;
      if (remaining <= 0) {
        return fail(
          `${seen}: every call answers 429 Too Many Requests ("Limit Exceeded") until the period ends`,
          `Raise usagePlan.quotaLimit and run \`chatbot-ops create-usage-plan\`, or wait until ${until}.`,
        );
      }
      if (remaining < q.limit * 0.1) {
        return warn(
          `${seen}: under 10 % left`,
          "Reduce the chatbot's request rate or raise usagePlan.quotaLimit (`chatbot-ops create-usage-plan`).",
        );
      }
      return pass(seen);
    },
  },
  {
    id: 'plan.key-hash',
    group: 'Usage plan',
    title: "key's hash in the function's API_KEYS",
    async run(f) {
      const [keys, onPlan, fn] = await Promise.all([f.apiKeys(), f.planKeyIds(), f.deployedFn()]);
      await f.currentKey();
      const entries = new Set(
        (fn.environment.API_KEYS ?? '')
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean),
      );
      const usable = keys.filter((k) => k.enabled && onPlan.has(k.id) && k.value);
      const missing = usable.filter(
        (k) => !entries.has(hashApiKey(k.value ?? '')) && !entries.has(k.value ?? ''),
      );
      if (missing.length > 0) {
        return fail(
          `the hash of key ${missing.map((k) => k.id).join(', ')} is not in the function's API_KEYS: API Gateway lets the call through and the function answers 401 Unauthorized`,
          "Run `chatbot-ops create-function` (it writes the hashes of the plan's keys into API_KEYS), or finish a rotation with `chatbot-ops rotate-key`.",
        );
      }
      return pass(
        `${usable.length} key${usable.length === 1 ? '' : 's'} on the plan, ${usable.length === 1 ? 'its hash is' : 'all hashes are'} in API_KEYS`,
      );
    },
  },
];
