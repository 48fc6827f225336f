/**
 * Which events the local function may run in the container it keeps free of slow queries. On AWS a
 * `health` call behind fifty slow queries gets a container of its own (Lambda scales out); the local
 * stack has a handful, so it keeps one for the intents that read nothing heavy: `health` (one round
 * trip to the database) and `list_intents` (no database at all). Anything else, or a body that does
 * not parse, is an ordinary event.
 */
import type { ProxyEvent } from './gateway.js';

const LIGHT_INTENTS = new Set(['health', 'list_intents']);
/** A light request is a few dozen bytes; a larger body is not parsed to find out. */
const MAX_LIGHT_BODY = 4096;

export function isLightEvent(event: ProxyEvent): boolean {
  if (event.body === null) return false;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (text.length > MAX_LIGHT_BODY) return false;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
    const intent = (body as { intent?: unknown }).intent;
    return typeof intent === 'string' && LIGHT_INTENTS.has(intent.trim());
  } catch {
    return false;
  }
}
