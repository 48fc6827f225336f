/**
 * API keys: API_KEYS holds plain keys or `sha256:<hex>` of a key, so the function's configuration
 * need not show a usable key. Keys are compared as SHA-256 digests, which have a fixed length, with
 * crypto.timingSafeEqual: neither the content nor the length of a configured key leaks through
 * timing. New key values (deployed or local) come from generateApiKeyValue.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A new API key value: 30 random bytes as base64url, 40 characters (API Gateway wants at least 20).
 * 240 random bits, 6 per character: each character is uniformly one of 64 (a byte taken modulo 62
 * would make the first eight letters likelier than the rest).
 */
export function generateApiKeyValue(): string {
  return randomBytes(30).toString('base64url');
}

const HASHED_ENTRY = /^sha256:([0-9a-fA-F]{64})$/;

/** `sha256:<lowercase hex of SHA-256 of the UTF-8 key>`: the form the CLI writes into API_KEYS. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Parse API_KEYS into 32-byte digests. Empty entries (a trailing comma) are ignored; an entry that
 * starts with `sha256:` but is not 64 hex digits is an error (a truncated hash would never match).
 */
export function parseApiKeys(value: string | undefined): { digests: Buffer[]; problems: string[] } {
  const digests: Buffer[] = [];
  const problems: string[] = [];
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  entries.forEach((entry, index) => {
    const hashed = HASHED_ENTRY.exec(entry);
    if (hashed?.[1]) digests.push(Buffer.from(hashed[1], 'hex'));
    else if (entry.toLowerCase().startsWith('sha256:'))
      problems.push(`API_KEYS entry ${index + 1} starts with sha256: but is not followed by 64 hex digits`);
    else digests.push(digest(entry));
  });
  return { digests, problems };
}

/**
 * Whether any presented key matches any configured digest. Every pair is compared (no early exit),
 * so the time taken does not tell which entry, if any, matched.
 */
export function isAcceptedKey(presented: readonly string[], configured: readonly Buffer[]): boolean {
  let accepted = false;
  for (const key of presented) {
    const candidate = digest(key);
    for (const entry of configured) if (timingSafeEqual(candidate, entry)) accepted = true;
  }
  return accepted;
}
