/**
 * A "real-world-shaped" access log for the peer benchmarks: what an nginx server in front of a
 * public site writes with its default `combined` format (no response time), generated from a fixed
 * seed rather than copied from anyone's log. Where the synthetic traffic of `db seed` is tidy, this
 * one carries what real logs carry and parsers trip on:
 * - tens of thousands of clients, IPv6 among them, a few crawlers and scanners making much of the load;
 * - hundreds of distinct user agents (browser versions, bots, libraries, "-"), some with escaped quotes;
 * - referrers from search engines with queries, social sites, the site itself, and none;
 * - deep paths, percent-encoded UTF-8, long tracking query strings, 304s with 0 bytes, 206 ranges,
 *   nginx's 499 (client closed), HEAD/OPTIONS/PROPFIND;
 * - TLS handshakes and other bytes sent to the plain-HTTP port, logged by nginx as `\x16\x03\x01...`
 *   requests answered 400, and empty `"-"` requests.
 * Timestamps rise with jitter over seven days. Every line is a valid combined-format line: the point
 * is to measure throughput on realistic variety, not error handling.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type Random, seededRandom, weightedTable } from '../../src/db/seeded-random.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function browserAgents(random: Random): string[] {
  const agents: string[] = [];
  for (let i = 0; i < 160; i++) {
    const chrome = `${random.int(110, 131)}.0.${random.int(5000, 6800)}.${random.int(0, 200)}`;
    agents.push(
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome} Safari/537.36`,
      `Mozilla/5.0 (Linux; Android ${random.int(10, 15)}; SM-G${random.int(900, 999)}B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome} Mobile Safari/537.36`,
    );
  }
  for (let i = 0; i < 80; i++) {
    const v = `${random.int(15, 18)}.${random.int(0, 6)}`;
    agents.push(
      `Mozilla/5.0 (iPhone; CPU iPhone OS ${v.replace('.', '_')} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Mobile/15E148 Safari/604.1`,
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Safari/605.1.15`,
    );
  }
  for (let i = 0; i < 40; i++) {
    const ff = random.int(100, 133);
    agents.push(`Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:${ff}.0) Gecko/20100101 Firefox/${ff}.0`);
  }
  return agents;
}

const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
  'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
];
const TOOLS = [
  'curl/8.5.0',
  'python-requests/2.32.3',
  'Go-http-client/1.1',
  'Wget/1.21.3',
  'okhttp/4.12.0',
  'Mozilla/5.0 zgrab/0.x',
  'Mozlila/5.0 (Linux; Android 7.0; SM-G892A Bulid/NRD90M; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/60.0.3112.107 Moblie Safari/537.36',
  'Mozilla/5.0 (compatible; \\"quoted\\" scanner; +http://example.net/)',
];

const SEARCH_TERMS = [
  'running shoes',
  'cheap flights',
  'café près de moi',
  'usb c hub',
  '東京 ホテル',
  'how to',
];
const SLUGS = ['spring-sale', 'release-notes-4-2', 'how-we-scaled', 'privacy', 'über-uns', 'faq', 'careers'];
const SCANS = [
  '/wp-login.php',
  '/.env',
  '/.git/config',
  '/phpmyadmin/index.php',
  '/cgi-bin/luci',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php',
];

function ipv4(random: Random): string {
  return `${random.int(1, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
}

function ipv6(random: Random): string {
  const h = () => random.int(0, 0xffff).toString(16);
  return random.next() < 0.5
    ? `2a02:${h()}:${h()}:${h()}::${h()}`
    : `2001:db8:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}`;
}

function encodePath(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}

function target(random: Random): { method: string; path: string; kind: 'page' | 'asset' | 'api' | 'scan' } {
  const r = random.next();
  if (r < 0.38) {
    const asset = random.pick([
      `/assets/app.${random.int(0, 0xfffff).toString(16)}.js`,
      `/assets/main.${random.int(0, 0xfff).toString(16)}.css`,
      `/images/products/${random.int(1, 4000)}-${random.pick(['small', 'large', 'thumb'])}.webp`,
      '/favicon.ico',
      '/fonts/inter-var.woff2',
    ]);
    return { method: random.next() < 0.98 ? 'GET' : 'HEAD', path: asset, kind: 'asset' };
  }
  if (r < 0.7) {
    const page = random.pick([
      '/',
      `/blog/${random.int(2019, 2026)}/${pad(random.int(1, 12))}/${encodePath(random.pick(SLUGS))}`,
      `/products/${random.int(1, 4000)}`,
      `/category/${encodePath(random.pick(['shoes', 'bags', 'sale', 'neu']))}?page=${random.int(1, 40)}`,
      `/search?q=${encodePath(random.pick(SEARCH_TERMS))}&sort=${random.pick(['price', 'new'])}`,
      `/?utm_source=${random.pick(['newsletter', 'facebook', 'google'])}&utm_medium=${random.pick(['email', 'cpc', 'social'])}&utm_campaign=${random.int(1000, 9999)}&fbclid=IwAR${random.int(0, 2 ** 31).toString(36)}${random.int(0, 2 ** 31).toString(36)}`,
    ]);
    return { method: random.next() < 0.99 ? 'GET' : 'OPTIONS', path: page, kind: 'page' };
  }
  if (r < 0.97) {
    const api = random.pick([
      `/api/v2/cart/${random.int(1, 900000)}`,
      '/api/v2/session',
      `/api/v2/products?ids=${random.int(1, 4000)},${random.int(1, 4000)},${random.int(1, 4000)}`,
      '/graphql',
    ]);
    return { method: random.pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE']), path: api, kind: 'api' };
  }
  return { method: random.pick(['GET', 'GET', 'POST', 'PROPFIND']), path: random.pick(SCANS), kind: 'scan' };
}

/**
 * Write `lines` lines to `file`. Deterministic for a given seed; about 230 bytes a line.
 */
export async function writeRealWorldLog(file: string, lines: number, seed = 7): Promise<void> {
  const random = seededRandom(seed);
  const browsers = browserAgents(random);
  const clients: { ip: string; agent: string }[] = [];
  for (let i = 0; i < 40_000; i++) {
    const agent = random.next() < 0.02 ? '-' : random.pick(browsers);
    clients.push({ ip: random.next() < 0.1 ? ipv6(random) : ipv4(random), agent });
  }
  const crawlers = BOTS.map((agent) => ({ ip: ipv4(random), agent }));
  const tools = TOOLS.map((agent) => ({ ip: random.next() < 0.3 ? ipv6(random) : ipv4(random), agent }));
  const who = weightedTable<'client' | 'crawler' | 'tool'>([
    ['client', 80],
    ['crawler', 14],
    ['tool', 6],
  ]);
  const status = weightedTable<number>([
    [200, 78],
    [304, 9],
    [301, 2],
    [302, 2],
    [206, 1],
    [404, 5],
    [499, 1],
    [500, 1],
    [502, 0.5],
    [403, 0.5],
  ]);

  const out = createWriteStream(file);
  let t = Date.UTC(2026, 10, 20);
  let chunk = '';
  for (let n = 0; n < lines; n++) {
    t += random.int(0, 1200);
    const kind = who.draw(random);
    const c =
      kind === 'client'
        ? (clients[Math.floor(random.next() ** 2 * clients.length)] as (typeof clients)[number])
        : kind === 'crawler'
          ? random.pick(crawlers)
          : random.pick(tools);
    let request: string;
    let code: number;
    let bytes: number;
    const odd = random.next();
    if (odd < 0.002) {
      // What nginx logs when a TLS client or a port scanner talks to the plain-HTTP port.
      request = random.next() < 0.5 ? '\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03' : '-';
      code = 400;
      bytes = 157;
    } else {
      const tgt = target(random);
      request = `${tgt.method} ${tgt.path} HTTP/${random.next() < 0.7 ? '1.1' : '2.0'}`;
      code = tgt.kind === 'scan' ? 404 : status.draw(random);
      bytes =
        code === 304 || tgt.method === 'HEAD'
          ? 0
          : tgt.kind === 'asset'
            ? random.int(800, 600_000)
            : random.int(150, 90_000);
    }
    const referrer =
      random.next() < 0.45
        ? '-'
        : random.pick([
            `https://www.google.com/search?q=${encodePath(random.pick(SEARCH_TERMS))}`,
            'https://www.bing.com/',
            'https://t.co/',
            'https://www.facebook.com/',
            `https://shop.example.org/products/${random.int(1, 4000)}`,
            'https://shop.example.org/',
            'android-app://com.google.android.gm/',
          ]);
    chunk += `${c.ip} - - [${clfTime(t)}] "${request}" ${code} ${bytes} "${referrer}" "${c.agent}"\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
