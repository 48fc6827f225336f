/**
 * What a failed answer means and what to do about it: API Gateway's own refusals (403, 429, 413, 504)
 * told apart from the function's (401, 400, 5xx); docs/backend.md, "chatbot-ops invoke", lists each answer and its explanation.
 */
import type { ApiResponse } from './api-client.js';
import { summarizeBody } from './body-text.js';
import { requestIdOf } from './chatbot-client.js';
import type { ApiTarget } from './target.js';

export interface Explanation {
  message: string;
  hint?: string;
}

const gatewayMessage = (r: ApiResponse): string | undefined => {
  const j = r.json as { message?: unknown } | undefined;
  return typeof j?.message === 'string' ? j.message : undefined;
};

const functionError = (r: ApiResponse): { error?: string; code?: string } => {
  const j = r.json as { error?: unknown; error_code?: unknown } | undefined;
  return {
    ...(typeof j?.error === 'string' ? { error: j.error } : {}),
    ...(typeof j?.error_code === 'string' ? { code: j.error_code } : {}),
  };
};

function keyHint(target: ApiTarget): string {
  if (target.source === 'local')
    return 'The local stack makes a new key on every `local up`: use --local so the current key is read from its state.';
  if (target.source === 'url')
    return 'Check --api-key / CHATBOT_API_KEY: it must be a key attached to the usage plan of this stage.';
  return 'Run `chatbot-ops doctor`: it checks that the key is enabled and on the usage plan, the plan on this stage, and the stage deployed.';
}

/**
 * `keySent`: whether the request carried an x-api-key header (invoke always sends one), so a 403 says
 * which of its two causes it is.
 */
export function explainFailure(
  r: ApiResponse,
  target: ApiTarget,
  { keySent = true }: { keySent?: boolean } = {},
): Explanation {
  const gw = gatewayMessage(r);
  const fn = functionError(r);
  const plan = target.usagePlan;
  const requestId = requestIdOf(r);
  // The local stack's function logs to a file, not CloudWatch: `logs` cannot read it.
  const logsHint = requestId
    ? target.source === 'local'
      ? `See the function's log for it: grep ${requestId} .chatbot-ops/local/function.log`
      : `See the function's log for it: chatbot-ops logs --filter ${requestId}`
    : undefined;
  if (r.status === 403 && gw === 'Missing Authentication Token') {
    return {
      message: `403 Missing Authentication Token: API Gateway has no POST method at ${target.url}`,
      hint: 'The URL must end in /<stage>/<resource> (e.g. /prod/chatbot) and the request must be a POST; for the deployed API, `chatbot-ops status` shows the invoke URL.',
    };
  }
  if (r.status === 403 && keySent && plan?.onStage === false) {
    return {
      message: `403 Forbidden: API Gateway refused the key: the usage plan ${plan.name ?? ''} is not attached to this stage, so no key is accepted`,
      hint: 'Attach it with `chatbot-ops create-usage-plan` (guide step 6, "Add API Stage").',
    };
  }
  if (r.status === 403) {
    return {
      message: keySent
        ? '403 Forbidden: API Gateway refused the key sent in x-api-key: it is not an enabled key of a usage plan attached to this stage'
        : '403 Forbidden: API Gateway refused the request: no x-api-key header was sent, and the method requires an API key',
      hint: keyHint(target),
    };
  }
  if (r.status === 401) {
    return {
      message: `401 ${fn.error ?? 'Unauthorized'}: API Gateway let the key through, but the function does not accept it (its hash is not in the function's API_KEYS)`,
      hint:
        target.source === 'aws'
          ? "Run `chatbot-ops doctor` (it compares the key with API_KEYS), or `chatbot-ops create-function` to write the current key's hash."
          : 'The key the gateway accepts and the one the function expects differ; restart the stack or check API_KEYS.',
    };
  }
  if (r.status === 429) {
    const quota = gw === 'Limit Exceeded';
    const limits = plan
      ? quota
        ? ` (the plan allows ${plan.quotaLimit.toLocaleString('en-US')} requests per ${plan.quotaPeriod.toLowerCase()})`
        : ` (the plan allows ${plan.rateLimit} requests/s with bursts of ${plan.burstLimit})`
      : '';
    return quota
      ? {
          message: `429 Limit Exceeded: the key has used up its usage plan quota${limits}`,
          hint: 'The quota resets at the start of the next period; raise usagePlan.quotaLimit and run `chatbot-ops create-usage-plan` to change it.',
        }
      : {
          message: `429 Too Many Requests: throttled by the usage plan${limits}`,
          hint: 'Send fewer requests per second, or pass --retry N to back off and retry.',
        };
  }
  if (r.status === 413) {
    return {
      message: `413 ${fn.error ?? gw ?? 'Payload Too Large'}`,
      hint: gw
        ? 'API Gateway accepts at most 10 MB.'
        : 'The function accepts at most MAX_PAYLOAD_SIZE bytes (limits.maxPayloadSize).',
    };
  }
  if (r.status === 504 && gw === 'Endpoint request timed out') {
    return {
      message:
        "504 Endpoint request timed out: the function did not answer within API Gateway's 29 s integration timeout",
      ...(logsHint
        ? {
            hint:
              target.source === 'local'
                ? `${logsHint}. A function that cannot reach the database waits until it times out: run \`chatbot-ops doctor --local\`.`
                : `${logsHint}. A function in a VPC that cannot reach the database waits until it times out: run \`chatbot-ops doctor\`.`,
          }
        : {}),
    };
  }
  if (r.status >= 500) {
    const what = fn.error ? `${fn.error}${fn.code ? ` (${fn.code})` : ''}` : (gw ?? summarizeBody(r.text));
    return {
      message: `${r.status} ${what}${requestId ? ` [request id ${requestId}]` : ''}`,
      ...(logsHint ? { hint: logsHint } : {}),
    };
  }
  return {
    message: `${r.status} ${fn.error ?? gw ?? summarizeBody(r.text)}${fn.code ? ` (${fn.code})` : ''}`,
  };
}
