-- chatbot-ops access-log schema (SPEC 1, "Database"). Applied by `chatbot-ops db init`;
-- every statement is idempotent, so re-running it changes nothing.
-- Timestamps are stored in UTC; connections set time_zone = '+00:00'.

CREATE TABLE IF NOT EXISTS access_logs (
  id               BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT,
  `timestamp`      DATETIME(3)       NOT NULL,
  ip_address       VARCHAR(45)       CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  method           VARCHAR(16)       CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  -- Paths are case-sensitive; 700 characters keeps (endpoint, timestamp, id) under InnoDB's 3072-byte key limit.
  endpoint         VARCHAR(700)      COLLATE utf8mb4_bin NOT NULL,
  query_string     TEXT              COLLATE utf8mb4_bin NULL,
  status_code      SMALLINT UNSIGNED NOT NULL,
  bytes_sent       BIGINT UNSIGNED   NULL,
  response_time_ms INT UNSIGNED      NULL,
  referrer         TEXT              NULL,
  user_agent       TEXT              NULL,
  -- From user_agent, set by the writer as the row is written (src/db/user-agent.ts); NULL until
  -- then for rows written by anything else, which `db init` classifies. Appended, nullable
  -- columns: adding them to an existing table is instant in MariaDB.
  is_bot           TINYINT UNSIGNED  NULL,
  browser          VARCHAR(64)       NULL,
  os               VARCHAR(64)       NULL,
  PRIMARY KEY (id),
  -- Windowed scans and keyset pagination, newest first: (timestamp, id). The aggregates read the
  -- rollup tables for whole buckets, so this index no longer carries their columns (it did, to be
  -- covering): the narrow form is cheaper at load time, see docs for the figures.
  KEY idx_timestamp (`timestamp`, id),
  -- get_access_logs / get_ip_activity by IP.
  KEY idx_ip_timestamp (ip_address, `timestamp`, id),
  -- get_access_logs by endpoint or endpoint prefix; get_endpoint_stats for one endpoint, and its
  -- p95, which sorts one endpoint's response times in the window without reading the rows.
  KEY idx_endpoint_timestamp (endpoint, `timestamp`, id, response_time_ms),
  -- get_error_logs: status range then time.
  KEY idx_status_timestamp (status_code, `timestamp`, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
