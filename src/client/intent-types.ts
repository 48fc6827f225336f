/**
 * The backend's intents as they travel over HTTP: each intent's params and the `data` of its answer,
 * with the backend's own names (snake_case, as list_intents, curl and the tool schemas spell them).
 * Times are ISO 8601 strings; a time without offset is read as UTC. The backend validates every
 * value (ranges, formats) and answers INVALID_PARAMS naming the field.
 */

/** The window every log-reading intent takes; default the last 24 hours. */
export interface WindowParams {
  /** Start of the window, inclusive. Not with `hours`. */
  start_time?: string;
  /** End of the window, exclusive; default now. */
  end_time?: string;
  /** The last N hours before end_time (or now), 1..8760. */
  hours?: number;
  /** true lifts the window: every row. Not with the other three. */
  all_time?: boolean;
}

/** `data.window` of an answer: the window used, null for all time. */
export type WindowEcho = { start: string; end: string } | null;

/**
 * Bots (classified by user agent when rows are written): `include` (default) counts every
 * request, `exclude` only those that are not bots, `only` only the bots.
 */
export type BotsFilter = 'include' | 'exclude' | 'only';

/** What every intent that counts requests takes besides the window. */
export interface CountParams extends WindowParams {
  bots?: BotsFilter;
}

export interface StatusBreakdown {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
}

export interface TrafficSummaryParams extends CountParams {
  /** Entries in each top list, 1..50 (default 5). */
  top_n?: number;
}

export interface TrafficSummary {
  window: WindowEcho;
  total_requests: number;
  /** Responses with status >= 400. */
  error_count: number;
  /** error_count / total_requests, 0..1 with 4 decimals; 0 when there were no requests. */
  error_rate: number;
  top_endpoints: Record<string, number>;
  top_ips: Record<string, number>;
  status_breakdown: StatusBreakdown;
}

export interface LogFilterParams extends WindowParams {
  /** Only requests from this client address (IPv4 or IPv6). */
  ip_address?: string;
  /** Only this exact path, without query string. */
  endpoint?: string;
  /** Only paths starting with this text. Not with `endpoint`. */
  endpoint_prefix?: string;
  method?: string;
  status_code?: number;
  /** Entries per page, 1..MAX_QUERY_LIMIT (default 100). */
  limit?: number;
  /** next_cursor of the previous page of the same query. */
  cursor?: string;
}

export interface ErrorLogParams extends LogFilterParams {
  /** Lowest status counted as an error, 400..599 (default 400). */
  min_status?: number;
}

export interface LogEntry {
  id: number;
  /** ISO 8601 UTC with milliseconds. */
  timestamp: string;
  ip_address: string;
  method: string;
  endpoint: string;
  query_string: string | null;
  status_code: number;
  bytes_sent: number | null;
  response_time_ms: number | null;
  referrer: string | null;
  user_agent: string | null;
}

/** One page of log entries, newest first. */
export interface LogPage {
  window: WindowEcho;
  logs: LogEntry[];
  count: number;
  /** Pass it as `cursor` (with the same filters) for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface IpActivityParams extends CountParams {
  ip_address: string;
  top_n?: number;
}

export interface IpActivity {
  window: WindowEcho;
  ip_address: string;
  total_requests: number;
  error_count: number;
  first_seen: string | null;
  last_seen: string | null;
  top_endpoints: Record<string, number>;
  status_breakdown: StatusBreakdown;
  methods: Record<string, number>;
}

export interface EndpointStatsParams extends CountParams {
  /** Only this exact path. */
  endpoint?: string;
  top_n?: number;
}

export interface EndpointStat {
  endpoint: string;
  requests: number;
  errors: number;
  error_rate: number;
  avg_response_ms: number | null;
  p95_response_ms: number | null;
}

export interface EndpointStats {
  window: WindowEcho;
  endpoints: EndpointStat[];
}

export interface TrafficTimeseriesParams extends CountParams {
  /** Bucket size (default hour); buckets start on whole UTC minutes, hours or days. */
  interval?: 'minute' | 'hour' | 'day';
}

export interface TrafficTimeseries {
  window: WindowEcho;
  interval: 'minute' | 'hour' | 'day';
  /** Every bucket of the window, empty ones as zeros. */
  buckets: { start: string; requests: number; errors: number }[];
}

export interface VisitorDay {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
  /** Distinct (address, day, user agent). */
  visitors: number;
  human_visitors: number;
  bot_visitors: number;
  requests: number;
}

export interface Visitors {
  window: WindowEcho;
  /** Sums of the days. */
  visitors: number;
  human_visitors: number;
  bot_visitors: number;
  days: VisitorDay[];
}

export interface TopParams extends CountParams {
  /** Entries in each top list, 1..50 (default 5). */
  top_n?: number;
}

export interface NotFound {
  window: WindowEcho;
  total_not_found: number;
  visitors: number;
  paths: { endpoint: string; hits: number; visitors: number; last_seen: string | null }[];
}

export interface Referrers {
  window: WindowEcho;
  total_requests: number;
  /** No referrer, "-", or no scheme://. */
  direct_requests: number;
  referred_requests: number;
  /** From the site's own hosts (SITE_HOSTS); left out of sites and urls. */
  self_referred_requests: number;
  site_hosts: string[];
  sites: { host: string; requests: number }[];
  urls: { url: string; requests: number }[];
}

export interface FamilyShare {
  name: string;
  requests: number;
  /** 0..1 with 4 decimals. */
  share: number;
}

export interface UserAgents {
  window: WindowEcho;
  total_requests: number;
  bot_requests: number;
  bot_share: number;
  /** Of the requests that are not bots. */
  browsers: FamilyShare[];
  operating_systems: FamilyShare[];
  /** Share of all requests. */
  top_bots: FamilyShare[];
}

export interface BandwidthParams extends TopParams {
  /** Only this exact path. */
  endpoint?: string;
}

export interface Bandwidth {
  window: WindowEcho;
  total_bytes: number;
  days: { date: string; bytes: number; requests: number }[];
  top_endpoints: { endpoint: string; bytes: number; requests: number }[];
}

export interface Health {
  status: 'ok';
  database: { reachable: boolean; latency_ms: number };
}

/** One parameter as list_intents describes it. */
export interface IntentParamDoc {
  name: string;
  /** integer, boolean, string, enum, ip_address, http_method, iso8601; a newer backend may add more. */
  type: string;
  description: string;
  required: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  values?: string[];
}

export interface IntentDoc {
  name: string;
  description: string;
  params: IntentParamDoc[];
}

export interface IntentList {
  intents: IntentDoc[];
}

/** Params and data of every intent this client knows by name. */
export interface Intents {
  get_traffic_summary: { params: TrafficSummaryParams; data: TrafficSummary };
  get_access_logs: { params: LogFilterParams; data: LogPage };
  get_error_logs: { params: ErrorLogParams; data: LogPage };
  get_ip_activity: { params: IpActivityParams; data: IpActivity };
  get_endpoint_stats: { params: EndpointStatsParams; data: EndpointStats };
  get_traffic_timeseries: { params: TrafficTimeseriesParams; data: TrafficTimeseries };
  get_visitors: { params: CountParams; data: Visitors };
  get_not_found: { params: TopParams; data: NotFound };
  get_referrers: { params: TopParams; data: Referrers };
  get_user_agents: { params: TopParams; data: UserAgents };
  get_bandwidth: { params: BandwidthParams; data: Bandwidth };
  health: { params: Record<string, never>; data: Health };
  list_intents: { params: Record<string, never>; data: IntentList };
}

export type IntentName = keyof Intents;
