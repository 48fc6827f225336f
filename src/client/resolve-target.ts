/** Which API `invoke` and `test` talk to: --local, --url/--api-key (or the CHATBOT_API_* variables), or the deployed one. */
import type { Command } from 'commander';
import { assertInteger, type Context } from '../cli/context.js';
import { UsageError, UserError } from '../errors.js';
import { readLocalState } from '../local/state.js';
import type { ApiTarget } from './target.js';

export interface TargetFlags {
  local?: boolean;
  url?: string;
  apiKey?: string;
}

/** --local, --url and --api-key, as every command that calls the API takes them. */
export function addTargetOptions(command: Command): Command {
  return command
    .option('--local', 'the local stack (chatbot-ops local up)')
    .option('--url <url>', 'any deployment of the API (or CHATBOT_API_URL)')
    .option(
      '--api-key <key>',
      'the key to send: required with --url (or CHATBOT_API_KEY); else replaces the one read from API Gateway or the local stack',
    );
}

/** `--retry N` of the commands that call the API: its flags and help text. */
export function retryOption(defaultRetries: number): [string, string] {
  return [
    '--retry <n>',
    `retry 429 and 5xx answers up to N times (0-10, default ${defaultRetries}), exponential backoff with full jitter`,
  ];
}

/** The value of --retry, checked. */
export function retriesFrom(value: string | undefined, defaultRetries: number): number {
  return value === undefined ? defaultRetries : assertInteger(value, '--retry', 0, 10);
}

/** The running local stack, from .chatbot-ops/local/state.json. */
export async function localTarget(cwd = process.cwd()): Promise<ApiTarget> {
  // Loaded here, not with this module: lifecycle brings the database driver, which calling the API
  // never needs (it would add about 100 ms to `mcp --local`'s start-up).
  const { isProcessAlive } = await import('../local/lifecycle.js');
  const state = readLocalState(cwd);
  if (!state) {
    throw new UserError('no local stack is running here (no .chatbot-ops/local/state.json)', {
      hint: 'Start one with `chatbot-ops local up` (or `local up --detach`) in this folder.',
    });
  }
  if (!isProcessAlive(state.pids.supervisor)) {
    throw new UserError('the local stack recorded in .chatbot-ops/local/state.json is no longer running', {
      hint: 'Start it again with `chatbot-ops local up`; it cleans up what the stopped run left.',
    });
  }
  return { url: state.gateway.url, apiKey: state.apiKey, source: 'local', usagePlan: state.usagePlan };
}

/**
 * --local, else --url (or CHATBOT_API_URL) with --api-key (or CHATBOT_API_KEY), else the deployed API
 * read from API Gateway. Flags are checked before anything is looked up or sent.
 */
export async function resolveTarget(ctx: Context, flags: TargetFlags, env = process.env): Promise<ApiTarget> {
  const url = flags.url ?? env.CHATBOT_API_URL;
  if (flags.local && flags.url)
    throw new UsageError('--local and --url name different targets; pass one of them');
  if (flags.apiKey === '') throw new UsageError('--api-key is empty');
  // --api-key alone keeps the target and replaces its key: to try a particular key against it.
  if (flags.local)
    return { ...(await localTarget()), ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}) };
  if (url) {
    const apiKey = flags.apiKey ?? env.CHATBOT_API_KEY;
    if (!apiKey) {
      throw new UsageError('--url needs an API key: pass --api-key KEY or set CHATBOT_API_KEY');
    }
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL (got "${url}")`);
    return { url, apiKey, source: 'url' };
  }
  // Loaded only here: the API Gateway and Lambda clients cost about a second to load, which --local
  // and --url never need.
  const { resolveDeployedTarget } = await import('./deployed-target.js');
  return resolveDeployedTarget(ctx, flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {});
}
