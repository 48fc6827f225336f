/**
 * What a user agent is, decided once when its row is written (every writer goes through
 * access-log-row.ts or load-data.ts): whether it is a bot (`isbot`'s list, the crawler list kept
 * up by that project), its browser family and its OS family (`ua-parser-js` 1.x; docs/decisions.md
 * says why not 2.x). A log has few distinct agents and parsing one is the costly part (regular
 * expressions over the whole string), so answers are cached by the agent string.
 */
import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';

export interface AgentClass {
  is_bot: 0 | 1;
  /** Browser family ("Chrome", "Mobile Safari"), or for a bot its name ("Googlebot", "curl"). */
  browser: string;
  /** OS family ("Windows", "iOS", "Android"). */
  os: string;
}

/** What a family is called when the agent does not say (also a missing or empty agent). */
export const UNKNOWN = 'Unknown';
/** The browser and os columns are VARCHAR(64). */
export const FAMILY_MAX = 64;
/**
 * Distinct agents kept; past it the cache starts afresh. A real log has hundreds; a hostile one
 * (random agents) must not grow memory without bound.
 */
const CACHE_MAX = 20_000;

const cache = new Map<string, AgentClass>();
const NO_AGENT: AgentClass = { is_bot: 0, browser: UNKNOWN, os: UNKNOWN };

/** A bot's product token: the first word naming a crawler ("Googlebot/2.1" gives Googlebot). */
const BOT_TOKEN = /[A-Za-z][\w.-]*?(?:bot|crawl(?:er)?|spider|slurp|archiver|fetcher)\b/i;
/** The first product token ("curl/8.5" gives curl), for tools that name no crawler word. */
const PRODUCT_TOKEN = /^([A-Za-z][\w.-]*)/;

const family = (name: string | undefined): string =>
  name && name.trim() !== '' ? name.trim().slice(0, FAMILY_MAX) : UNKNOWN;

function botName(agent: string, parsedBrowser: string | undefined): string {
  const word = BOT_TOKEN.exec(agent)?.[0];
  if (word) return family(word);
  if (parsedBrowser) return family(parsedBrowser);
  return family(PRODUCT_TOKEN.exec(agent.trim())?.[1]);
}

function classify(agent: string): AgentClass {
  const parsed = new UAParser(agent).getResult();
  const bot = isbot(agent);
  return {
    is_bot: bot ? 1 : 0,
    browser: bot ? botName(agent, parsed.browser.name) : family(parsed.browser.name),
    os: family(parsed.os.name),
  };
}

/** The class of a user agent; null, empty and '-' (the log's "none") are an unknown non-bot. */
export function classifyUserAgent(agent: string | null): AgentClass {
  if (agent === null || agent === '' || agent === '-') return NO_AGENT;
  let known = cache.get(agent);
  if (known === undefined) {
    known = classify(agent);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(agent, known);
  }
  return known;
}
