/**
 * The deployed API as `invoke` and `test` see it. First version: the signatures of the contract,
 * bodies to be written by the ops helper (the AWS lookups live there).
 */
import type { Context } from '../cli/context.js';
import type { ApiTarget } from '../client/target.js';
import { UserError } from '../errors.js';

/** Invoke URL from API Gateway, the key's value (includeValue) and the usage plan's limits. */
export async function resolveDeployedTarget(_ctx: Context): Promise<ApiTarget> {
  throw new UserError('looking up the deployed API is not available yet', {
    hint: 'Use --local, or --url URL --api-key KEY.',
  });
}

/** Lambda Invoke (RequestResponse) of the function with the SPEC body itself as the event. */
export async function invokeDirect(
  _ctx: Context,
  _event: unknown,
): Promise<{ statusCode: number; body: string; functionError?: string; requestId?: string }> {
  throw new UserError('looking up the deployed API is not available yet', {
    hint: 'Use --local, or --url URL --api-key KEY.',
  });
}
