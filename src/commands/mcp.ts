/**
 * `chatbot-ops mcp`: the backend as tools for a language model, over the Model Context Protocol. The
 * guide's step 9 ("Update Chatbot to Use API") done for MCP clients: one tool per intent, made from
 * the backend's list_intents at start, calling the same API `invoke` calls (deployed, --local, --url).
 * Over stdio by default (standard output then carries only the protocol; everything else goes to
 * standard error), or Streamable HTTP with --http PORT on 127.0.0.1.
 */
import { describeCommand } from '../cli/catalog.js';
import { assertInteger, type CommandModule, type Context } from '../cli/context.js';
import { ChatbotClient } from '../client/chatbot-client.js';
import {
  addTargetOptions,
  resolveTarget,
  retriesFrom,
  retryOption,
  type TargetFlags,
} from '../client/resolve-target.js';
import { UsageError, UserError } from '../errors.js';
import { fetchToolDefinitions } from '../tools/intent-source.js';
import { packageVersion } from '../version.js';

export interface McpFlags extends TargetFlags {
  http?: string;
  host?: string;
  retry?: string;
}

/** A model should not see a passing throttle: two retries unless told otherwise. */
const DEFAULT_RETRIES = 2;

function waitForStopSignal(): Promise<void> {
  return new Promise((resolveSignal) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveSignal();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function mcpAction(ctx: Context, flags: McpFlags): Promise<number> {
  const retries = retriesFrom(flags.retry, DEFAULT_RETRIES);
  const port = flags.http === undefined ? undefined : assertInteger(flags.http, '--http', 0, 65535);
  if (flags.host !== undefined && port === undefined)
    throw new UsageError('--host sets the address of the HTTP server: it goes with --http PORT');
  const host = flags.host ?? '127.0.0.1';

  const target = await resolveTarget(ctx, flags);
  const client = new ChatbotClient({ url: target.url, apiKey: target.apiKey, retries });
  // The tool list is fetched while the SDK loads: both stand between start-up and the first answer.
  const [tools, mcp] = await Promise.all([
    fetchToolDefinitions(client, target.url),
    import('../mcp/server.js'),
  ]);
  const log = (line: string) => process.stderr.write(`chatbot-ops mcp: ${line}\n`);
  const options = {
    client,
    tools,
    version: packageVersion(),
    // One line per tool call with --verbose; never the key, never the arguments' values.
    log: ctx.options.verbose ? log : () => {},
  };
  const what = `${tools.length} tools for ${target.url}`;

  if (port === undefined) {
    const { closed } = await mcp.serveStdio(options);
    log(`serving ${what} on standard input/output`);
    await closed;
    return 0;
  }
  const serving = await mcp.serveHttp(options, { host, port }).catch((err: NodeJS.ErrnoException) => {
    const why =
      err.code === 'EADDRINUSE'
        ? `port ${port} is already in use on ${host}`
        : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
          ? `${host} is not an address of this machine`
          : err.message;
    throw new UserError(`cannot serve MCP over HTTP: ${why}`, {
      hint: 'Pick another port with --http PORT (0 takes a free one), or another --host.',
      cause: err,
    });
  });
  log(`serving ${what} at ${serving.url} (Streamable HTTP); Ctrl-C stops it`);
  ctx.ui.result({ url: serving.url, tools: tools.map((t) => t.name), target: target.url });
  await waitForStopSignal();
  await serving.close();
  return 0;
}

export const register: CommandModule = (program, run) => {
  const command = program
    .command('mcp')
    .description(describeCommand('mcp'))
    .option(
      '--http <port>',
      'serve Streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio (0: a free port)',
    )
    .option('--host <address>', 'with --http: the address to listen on (default 127.0.0.1)')
    .option(...retryOption(DEFAULT_RETRIES));
  addTargetOptions(command).action(run(async (ctx, flags: McpFlags) => mcpAction(ctx, flags)));
};
