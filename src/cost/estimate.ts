/**
 * A monthly cost estimate for a request volume as arithmetic, every assumption visible. Prices are
 * us-east-1 list prices (docs/operate.md, `chatbot-ops cost`), including Lambda's compute charge beside
 * its $0.20 per million requests.
 */

/** List prices in USD. One place, so the README table and the estimate cannot drift apart. */
export const PRICES = {
  lambdaPerMillionRequests: 0.2,
  lambdaFreeRequests: 1_000_000,
  /** Per GB-second of compute; arm64 is 20 % cheaper. */
  lambdaPerGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
  lambdaFreeGbSeconds: 400_000,
  apiGatewayPerMillionRequests: 3.5,
  /** Only during the account's first 12 months. */
  apiGatewayFreeRequests: 1_000_000,
  rdsLow: 15,
  rdsHigh: 100,
  logsPerGbIngested: 0.5,
  transferPerGbOut: 0.09,
} as const;

const GIB = 1024 ** 3;

export interface CostAssumptions {
  requestsPerMonth: number;
  /** Average billed duration of one invocation, in milliseconds. */
  avgDurationMs: number;
  memoryMb: number;
  architecture: 'x86_64' | 'arm64';
  /** CloudWatch Logs bytes per request: START/END/REPORT lines plus the function's own JSON line. */
  logBytesPerRequest: number;
  /** Average response body plus headers sent back to the caller. */
  responseBytes: number;
}

export const DEFAULT_ASSUMPTIONS = {
  avgDurationMs: 100,
  logBytesPerRequest: 600,
  responseBytes: 2048,
} as const;

export interface CostLine {
  component: string;
  /** How the figure came about, in words a person can check. */
  basis: string;
  /** USD per month while the account is in its first 12 months (API Gateway's free tier applies). */
  firstYearUsd: number;
  /** USD per month afterwards. */
  afterFirstYearUsd: number;
  /** RDS has a range rather than a figure. */
  highUsd?: number;
}

export interface CostEstimate {
  assumptions: CostAssumptions;
  lines: CostLine[];
  total: { firstYear: { low: number; high: number }; afterFirstYear: { low: number; high: number } };
}

const cents = (usd: number): number => Math.round(usd * 100) / 100;
const billable = (used: number, free: number): number => Math.max(0, used - free);

/** Compute the monthly estimate. Pure: same assumptions, same figures. */
export function estimateMonthlyCost(a: CostAssumptions): CostEstimate {
  const n = a.requestsPerMonth;
  const lambdaRequests = (billable(n, PRICES.lambdaFreeRequests) / 1e6) * PRICES.lambdaPerMillionRequests;
  const gbSeconds = n * (a.avgDurationMs / 1000) * (a.memoryMb / 1024);
  const lambdaCompute =
    billable(gbSeconds, PRICES.lambdaFreeGbSeconds) * PRICES.lambdaPerGbSecond[a.architecture];
  const apiAfter = (n / 1e6) * PRICES.apiGatewayPerMillionRequests;
  const apiFirst = (billable(n, PRICES.apiGatewayFreeRequests) / 1e6) * PRICES.apiGatewayPerMillionRequests;
  const logGb = (n * a.logBytesPerRequest) / GIB;
  const transferGb = (n * a.responseBytes) / GIB;
  const same = (component: string, basis: string, usd: number): CostLine => ({
    component,
    basis,
    firstYearUsd: cents(usd),
    afterFirstYearUsd: cents(usd),
  });
  const lines: CostLine[] = [
    same(
      'Lambda requests',
      `${fmtCount(n)} requests, first 1M free, $${PRICES.lambdaPerMillionRequests}/M`,
      lambdaRequests,
    ),
    same(
      'Lambda compute',
      `${fmtNumber(gbSeconds)} GB-s (${a.avgDurationMs} ms × ${a.memoryMb} MB), first 400,000 GB-s free, $${PRICES.lambdaPerGbSecond[a.architecture]}/GB-s (${a.architecture})`,
      lambdaCompute,
    ),
    {
      component: 'API Gateway (REST)',
      basis: `$${PRICES.apiGatewayPerMillionRequests}/M, first 1M/month free in the account's first 12 months`,
      firstYearUsd: cents(apiFirst),
      afterFirstYearUsd: cents(apiAfter),
    },
    {
      component: 'RDS (MariaDB)',
      basis: "depends on instance size (db.t3.micro to larger), the guide's range",
      firstYearUsd: PRICES.rdsLow,
      afterFirstYearUsd: PRICES.rdsLow,
      highUsd: PRICES.rdsHigh,
    },
    same(
      'CloudWatch Logs',
      `${fmtNumber(logGb)} GB ingested (${a.logBytesPerRequest} bytes/request), $${PRICES.logsPerGbIngested}/GB`,
      logGb * PRICES.logsPerGbIngested,
    ),
    same(
      'Data transfer out',
      `${fmtNumber(transferGb)} GB (${a.responseBytes} bytes/response), $${PRICES.transferPerGbOut}/GB`,
      transferGb * PRICES.transferPerGbOut,
    ),
  ];
  const sum = (pick: (l: CostLine) => number) => cents(lines.reduce((s, l) => s + pick(l), 0));
  return {
    assumptions: a,
    lines,
    total: {
      firstYear: { low: sum((l) => l.firstYearUsd), high: sum((l) => l.highUsd ?? l.firstYearUsd) },
      afterFirstYear: {
        low: sum((l) => l.afterFirstYearUsd),
        high: sum((l) => l.highUsd ?? l.afterFirstYearUsd),
      },
    },
  };
}

function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtNumber(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 3 : 1 });
}

export function formatUsd(usd: number, high?: number): string {
  const one = (x: number) =>
    `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return high === undefined ? one(usd) : `${one(usd)}-${one(high)}`;
}

/** The estimate as aligned text rows for people. */
export function renderCostTable(e: CostEstimate): string[] {
  const header = ['component', 'first 12 months', 'after', 'basis'];
  const rows = e.lines.map((l) => [
    l.component,
    formatUsd(l.firstYearUsd, l.highUsd),
    formatUsd(l.afterFirstYearUsd, l.highUsd),
    l.basis,
  ]);
  const total = [
    'Total',
    formatUsd(e.total.firstYear.low, e.total.firstYear.high),
    formatUsd(e.total.afterFirstYear.low, e.total.afterFirstYear.high),
    '',
  ];
  const all = [header, ...rows, total];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line), line(total)];
}
