/**
 * Where the tool definitions come from: the backend's own list_intents (the default, so the tools
 * follow the deployed version), or, with `tools --offline`, the intent table bundled with this CLI.
 */
import type { ChatbotClient, RequestOptions } from '../client/chatbot-client.js';
import type { IntentDoc } from '../client/intent-types.js';
import { UserError } from '../errors.js';
import { type ToolDefinition, toolsFromIntents } from './tool-definitions.js';

/** list_intents from the backend. */
export async function backendIntents(client: ChatbotClient, options?: RequestOptions): Promise<IntentDoc[]> {
  const { intents } = await client.listIntents(options);
  return intents;
}

/**
 * The intents of the backend this CLI bundles (the code `package` zips), described as list_intents
 * describes them, with `limit` bounded by the configured MAX_QUERY_LIMIT. Loaded only when asked
 * for: the CLI needs no backend code otherwise.
 */
export async function bundledIntents(maxQueryLimit: number): Promise<IntentDoc[]> {
  const [{ INTENTS }, { describeIntents }] = await Promise.all([
    import('../lambda/intents/index.js'),
    import('../lambda/intents/list-intents.js'),
  ]);
  return describeIntents(INTENTS, maxQueryLimit).map((intent) => ({
    ...intent,
    params: intent.params.map(({ values, maximum, ...p }) => ({
      ...p,
      ...(values ? { values: [...values] } : {}),
      ...(typeof maximum === 'number' ? { maximum } : {}),
    })),
  }));
}

/** The tools of the backend at `url`, or a UserError saying why list_intents gave none. */
export async function fetchToolDefinitions(
  client: ChatbotClient,
  url: string,
  hint = 'Check that the backend answers: `chatbot-ops invoke list_intents` with the same target options.',
): Promise<ToolDefinition[]> {
  try {
    return toolsFromIntents(await backendIntents(client));
  } catch (err) {
    throw new UserError(`could not read list_intents from ${url}: ${(err as Error).message}`, {
      hint,
      cause: err,
    });
  }
}
