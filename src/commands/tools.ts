/**
 * `chatbot-ops tools --format mcp|openai|anthropic|json-schema`: the tool definitions `mcp` serves, in
 * the shapes other ways of wiring a model to tools expect, made from the same list_intents so they never
 * drift from the backend. `--offline` makes them from the intent table bundled with this CLI instead,
 * without asking any backend.
 */
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule, Context } from '../cli/context.js';
import { ChatbotClient } from '../client/chatbot-client.js';
import {
  addTargetOptions,
  resolveTarget,
  retriesFrom,
  retryOption,
  type TargetFlags,
} from '../client/resolve-target.js';
import { UsageError, UserError } from '../errors.js';
import { bundledIntents, fetchToolDefinitions } from '../tools/intent-source.js';
import {
  formatTools,
  TOOL_FORMATS,
  type ToolDefinition,
  type ToolFormat,
  toolsFromIntents,
} from '../tools/tool-definitions.js';
import { packageVersion } from '../version.js';

export interface ToolsFlags extends TargetFlags {
  format?: string;
  offline?: boolean;
  retry?: string;
}

const offlineHint = () =>
  `Or pass --offline for the definitions of the backend bundled with this chatbot-ops (${packageVersion()}), which asks no backend.`;

async function definitions(ctx: Context, flags: ToolsFlags): Promise<ToolDefinition[]> {
  if (flags.offline) {
    ctx.ui.debug(`tool definitions from the intents bundled with chatbot-ops ${packageVersion()}`);
    return toolsFromIntents(await bundledIntents(ctx.config().limits.maxQueryLimit));
  }
  const target = await resolveTarget(ctx, flags).catch((err: unknown) => {
    if (!(err instanceof UserError) || err.exitCode === 2) throw err;
    throw new UserError(err.message, { hint: `${err.hint ?? ''} ${offlineHint()}`.trim(), cause: err });
  });
  const client = new ChatbotClient({
    url: target.url,
    apiKey: target.apiKey,
    retries: retriesFrom(flags.retry, 2),
  });
  ctx.ui.debug(`tool definitions from list_intents of ${target.url}`);
  return fetchToolDefinitions(
    client,
    target.url,
    `Check that the backend answers (\`chatbot-ops invoke list_intents\` with the same options). ${offlineHint()}`,
  );
}

export async function toolsAction(ctx: Context, flags: ToolsFlags): Promise<number> {
  const format = (flags.format ?? 'mcp') as ToolFormat;
  if (!TOOL_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${TOOL_FORMATS.join(', ')} (got "${flags.format}")`);
  if (flags.offline && (flags.local || flags.url !== undefined || flags.apiKey !== undefined))
    throw new UsageError('--offline asks no backend: leave out --local, --url and --api-key');
  retriesFrom(flags.retry, 2);
  const document = formatTools(await definitions(ctx, flags), format);
  // The definitions are the output, --json or not.
  if (ctx.ui.json) ctx.ui.result(document);
  else ctx.ui.info(JSON.stringify(document, null, 2));
  return 0;
}

export const register: CommandModule = (program, run) => {
  const command = program
    .command('tools')
    .description(describeCommand('tools'))
    .option('--format <format>', `${TOOL_FORMATS.join(', ')}`, 'mcp')
    .option('--offline', 'from the intents bundled with this CLI, asking no backend')
    .option(...retryOption(2));
  addTargetOptions(command).action(run(async (ctx, flags: ToolsFlags) => toolsAction(ctx, flags)));
};
