/**
 * `doctor --local`: the checks that apply to the local stack `chatbot-ops local up` runs: its state,
 * its processes, the database with the stack's own credentials, the API Gateway stand-in's key
 * check, the function's key check, and the throttle.
 */

import { summarizeBody } from '../client/body-text.js';
import type { ChatbotConfig } from '../config.js';
import { countAccessLogsAt } from '../db/stats.js';
import { isProcessAlive } from '../local/lifecycle.js';
import { type LocalState, localStatePath, readLocalState } from '../local/state.js';
import { type ApiAnswer, callHealth } from './aws-facts.js';
import { type Check, fail, memoize, pass, required, warn } from './engine.js';

const UP = 'Run `chatbot-ops local up`.';
const RESTART = 'Run `chatbot-ops local down`, then `chatbot-ops local up`.';

export interface LocalFactsOptions {
  config: ChatbotConfig;
  cwd?: string;
}

export type LocalFacts = ReturnType<typeof createLocalFacts>;

export function createLocalFacts(o: LocalFactsOptions) {
  const cwd = o.cwd ?? process.cwd();
  const stateOrUndefined = memoize(async () => readLocalState(cwd));
  const state = async (): Promise<LocalState> =>
    required(await stateOrUndefined(), 'no local stack is recorded');
  const database = memoize(async (): Promise<{ rows: number; ms: number } | { error: string }> => {
    const s = await state();
    const started = Date.now();
    const counted = await countAccessLogsAt(s.db, 5000);
    return 'rows' in counted ? { rows: counted.rows, ms: Date.now() - started } : counted;
  });
  const gateway = memoize(
    async (): Promise<{ withKey: ApiAnswer; withoutKey: ApiAnswer } | { error: string }> => {
      const s = await state();
      try {
        const withoutKey = await callHealth(s.gateway.url, null);
        const withKey = await callHealth(s.gateway.url, s.apiKey);
        return { withKey, withoutKey };
      } catch (err) {
        return { error: (err as Error).message };
      }
    },
  );
  return {
    config: o.config,
    statePath: localStatePath(cwd),
    stateOrUndefined,
    state,
    database,
    gateway,
    secrets: (): string[] => {
      const s = readLocalState(cwd);
      return s ? [s.apiKey, s.db.password, ...(s.db.writer ? [s.db.writer.password] : [])] : [];
    },
  };
}

export const LOCAL_CHECKS: readonly Check<LocalFacts>[] = [
  {
    id: 'local.state',
    group: 'Local stack',
    title: 'local stack recorded',
    async run(f) {
      const s = await f.stateOrUndefined();
      if (!s) return fail(`no ${f.statePath}: the local stack is not running`, UP);
      return pass(`started ${s.startedAt}, ${s.gateway.url}`);
    },
  },
  {
    id: 'local.processes',
    group: 'Local stack',
    title: 'processes alive',
    async run(f) {
      const s = await f.state();
      const dead: string[] = [];
      if (!isProcessAlive(s.pids.supervisor))
        dead.push(`supervisor ${s.pids.supervisor ?? '(none recorded)'}`);
      if (s.db.managed && !isProcessAlive(s.pids.mariadb))
        dead.push(`MariaDB ${s.pids.mariadb ?? '(none recorded)'}`);
      if (dead.length > 0)
        return fail(
          `not running: ${dead.join(', ')} (the stack was stopped without \`local down\`)`,
          RESTART,
        );
      const db = s.db.managed ? `, MariaDB ${s.pids.mariadb}` : ', database not managed by the stack';
      return pass(`supervisor ${s.pids.supervisor}${db}`);
    },
  },
  {
    id: 'local.database',
    group: 'Local stack',
    title: "database reachable with the stack's credentials",
    async run(f) {
      const s = await f.state();
      const r = await f.database();
      if ('error' in r) {
        const refused = /ACCESS_DENIED/.test(r.error);
        return fail(
          `${s.db.host}:${s.db.port}/${s.db.database} as ${s.db.user}: ${r.error}`,
          refused
            ? 'The password in the state no longer matches: restart the stack (`local down`, `local up`).'
            : RESTART,
        );
      }
      return pass(
        `${s.db.host}:${s.db.port}/${s.db.database} as ${s.db.user} (password set), ${r.rows} rows, ${r.ms} ms`,
      );
    },
  },
  {
    id: 'local.gateway',
    group: 'Local stack',
    title: 'stand-in: 403 without a key, 200 with it',
    async run(f) {
      const g = await f.gateway();
      if ('error' in g) return fail(`the API Gateway stand-in does not answer: ${g.error}`, RESTART);
      const seen = `without key ${g.withoutKey.status}, with key ${g.withKey.status} (${g.withKey.ms} ms)`;
      if (g.withoutKey.status !== 403)
        return fail(`${seen}: the stand-in lets calls through without a key`, RESTART);
      if (g.withKey.status === 403) return fail(`${seen}: the stand-in refuses the recorded key`, RESTART);
      if (g.withKey.status === 401)
        return pass(`${seen}: the stand-in accepts the key (the function's verdict is the next check)`);
      if (g.withKey.status !== 200) {
        return fail(
          `${seen}: ${summarizeBody(g.withKey.body)}`,
          'See the function log in the `local up` terminal; restart with `local down`, `local up`.',
        );
      }
      return pass(seen);
    },
  },
  {
    id: 'local.key-hash',
    group: 'Local stack',
    title: "key's hash in the function's API_KEYS",
    async run(f) {
      const g = await f.gateway();
      if ('error' in g) return fail(`the stand-in does not answer: ${g.error}`, RESTART);
      if (g.withKey.status === 401) {
        return fail(
          "the function answered 401 to the stack's key: its hash is not in the runtime's API_KEYS",
          RESTART,
        );
      }
      return pass(`the function accepted the key (answered ${g.withKey.status})`);
    },
  },
  {
    id: 'local.throttle',
    group: 'Local stack',
    title: 'throttle: burst ≥ rate',
    async run(f) {
      const { rateLimit, burstLimit, quotaLimit, quotaPeriod } = (await f.state()).usagePlan;
      if (burstLimit < rateLimit) {
        return fail(
          `burst ${burstLimit} is below rate ${rateLimit}/s: the stand-in answers 429 below the rate`,
          `Set usagePlan.burstLimit ≥ usagePlan.rateLimit in the config, then restart: ${RESTART}`,
        );
      }
      if (rateLimit !== f.config.usagePlan.rateLimit || burstLimit !== f.config.usagePlan.burstLimit) {
        return warn(
          `rate ${rateLimit}/s, burst ${burstLimit}; the config now says ${f.config.usagePlan.rateLimit}/${f.config.usagePlan.burstLimit}`,
          RESTART,
        );
      }
      return pass(`rate ${rateLimit}/s, burst ${burstLimit}, quota ${quotaLimit} per ${quotaPeriod}`);
    },
  },
];
