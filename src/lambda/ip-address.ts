/**
 * One spelling per client address, shared by what writes `access_logs.ip_address` (the loader) and
 * what queries it (the `ip_address` parameter), so a filter finds the rows the loader stored:
 * brackets dropped (`[::1]`), IPv6 in lower case, an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`)
 * written as the IPv4 address it is.
 */
import { isIP } from 'node:net';

/** The stored spelling of an address, or undefined when `text` is not an IPv4 or IPv6 address. */
export function normaliseIpAddress(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const kind = isIP(bare);
  if (kind === 4) return bare;
  if (kind !== 6) return undefined;
  const lower = bare.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped ? (mapped[1] as string) : lower;
}
