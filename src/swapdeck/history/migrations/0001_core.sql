-- swapdeck history, schema version 1: hosts, activity, captures, perf, model events.
-- Applied inside one transaction by swapdeck.history.migrate; later versions add files
-- named NNNN_<what>.sql beside this one (bench and pool tables come that way).

-- One row per configured host: the last known picture, upserted by the batched writer.
-- NULL means "never heard"; the writer only ever overwrites a column with a newer value.
CREATE TABLE hosts (
    name              TEXT PRIMARY KEY,
    url               TEXT,                -- stored without any user:password part
    liveness          TEXT,                -- connected | reconnecting | down
    liveness_at       REAL,
    liveness_attempt  INTEGER,
    last_seen         REAL,
    last_error        TEXT,
    swap_version      TEXT,                -- llama-swap
    swap_commit       TEXT,
    swap_build_date   TEXT,
    swap_version_at   REAL,
    engine_component  TEXT,                -- llama-server (or another engine) build
    engine_version    TEXT,
    engine_commit     TEXT,
    engine_build_date TEXT,
    engine_version_at REAL,
    models_json       TEXT,                -- latest ModelsListed, as a JSON array
    models_at         REAL,
    inflight_count    INTEGER,
    inflight_at       REAL,
    frames_rejected   INTEGER NOT NULL DEFAULT 0,
    -- Kept here rather than derived from requests/perf rows so that retention pruning
    -- never loses where a host's history left off (ResumePoint).
    activity_epoch    INTEGER,
    last_activity_id  INTEGER,
    last_activity_at  REAL,
    perf_watermark    REAL
) WITHOUT ROWID;

-- Finished requests (§3.1). Remote ids are unique only per (host, epoch, id) (§12).
CREATE TABLE requests (
    id             INTEGER PRIMARY KEY,
    host           TEXT    NOT NULL,
    epoch          INTEGER NOT NULL,
    remote_id      INTEGER NOT NULL,
    finished_at    REAL    NOT NULL,
    model          TEXT    NOT NULL,
    req_path       TEXT,                   -- NULL before v209
    status_code    INTEGER,                -- NULL before v209
    content_type   TEXT,
    cache_tokens   INTEGER NOT NULL,       -- -1 = unknown, as on the wire
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    prompt_tps     REAL    NOT NULL,
    decode_tps     REAL    NOT NULL,
    duration_ms    INTEGER NOT NULL,
    has_capture    INTEGER NOT NULL,
    draft_tokens   INTEGER NOT NULL,
    draft_accepted INTEGER NOT NULL,
    error_msg      TEXT    NOT NULL,
    metadata       TEXT,                   -- JSON object, NULL when empty
    is_error       INTEGER NOT NULL,       -- status outside 2xx; feeds the errors index
    UNIQUE (host, epoch, remote_id)
);
-- Newest-first keyset paging on (finished_at, host, epoch, remote_id), scanned backwards.
CREATE INDEX requests_by_time  ON requests (finished_at, host, epoch, remote_id);
CREATE INDEX requests_by_host  ON requests (host, finished_at, epoch, remote_id);
CREATE INDEX requests_by_model ON requests (model, finished_at, host, epoch, remote_id);
CREATE INDEX requests_errors   ON requests (finished_at, host, epoch, remote_id) WHERE is_error = 1;

-- Request/response pairs fetched from /api/captures/{id} (§1.10), redacted, bodies capped.
-- `id` order is storage order: eviction under the total cap removes the lowest ids first.
CREATE TABLE captures (
    id             INTEGER PRIMARY KEY,
    host           TEXT    NOT NULL,
    epoch          INTEGER NOT NULL,
    remote_id      INTEGER NOT NULL,
    stored_at      REAL    NOT NULL,
    req_path       TEXT    NOT NULL,
    req_headers    TEXT    NOT NULL,       -- JSON object
    resp_headers   TEXT    NOT NULL,       -- JSON object
    req_body       BLOB,
    resp_body      BLOB,
    req_truncated  INTEGER NOT NULL,
    resp_truncated INTEGER NOT NULL,
    stored_bytes   INTEGER NOT NULL,       -- what this row counts against the total cap
    UNIQUE (host, epoch, remote_id)
);
CREATE INDEX captures_by_age ON captures (stored_at);

-- Raw performance samples (§1.9), deduplicated on (host, at[, gpu]).
-- Unknown readings (-1 on the wire) are stored as NULL so averages skip them.
CREATE TABLE perf_sys (
    host          TEXT NOT NULL,
    at            REAL NOT NULL,
    cpu_pct       REAL,
    cpu_per_core  TEXT NOT NULL,           -- JSON array, to rebuild the sample as it came
    mem_used_mb   REAL,
    mem_total_mb  REAL,
    swap_used_mb  REAL,
    swap_total_mb REAL,
    load_avg_1    REAL,
    load_avg_5    REAL,
    load_avg_15   REAL,
    PRIMARY KEY (host, at)
) WITHOUT ROWID;

CREATE TABLE perf_gpu (
    host         TEXT    NOT NULL,
    at           REAL    NOT NULL,
    gpu_index    INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    uuid         TEXT    NOT NULL,
    util_pct     REAL,
    mem_util_pct REAL,
    mem_used_mb  REAL,
    mem_total_mb REAL,
    temp_c       REAL,
    power_w      REAL,
    fan_pct      REAL,
    PRIMARY KEY (host, at, gpu_index)
) WITHOUT ROWID;

-- 5-minute rollups, recomputed from raw rows (idempotent) before raw rows are pruned.
-- series: 'sys' or 'gpu:<index>'; metrics a series does not have stay NULL.
CREATE TABLE perf_rollup_5m (
    host             TEXT    NOT NULL,
    series           TEXT    NOT NULL,
    bucket           INTEGER NOT NULL,     -- bucket start, unix seconds, multiple of 300
    count            INTEGER NOT NULL,
    avg_cpu_pct      REAL, max_cpu_pct      REAL,
    avg_mem_used_mb  REAL, max_mem_used_mb  REAL,
    avg_mem_total_mb REAL, max_mem_total_mb REAL,
    avg_swap_used_mb REAL, max_swap_used_mb REAL,
    avg_load_avg_1   REAL, max_load_avg_1   REAL,
    avg_util_pct     REAL, max_util_pct     REAL,
    avg_temp_c       REAL, max_temp_c       REAL,
    avg_power_w      REAL, max_power_w      REAL,
    PRIMARY KEY (host, series, bucket)
) WITHOUT ROWID;

-- Model state transitions, suspected gaps and liveness changes, in arrival order.
CREATE TABLE model_events (
    id           INTEGER PRIMARY KEY,
    host         TEXT NOT NULL,
    at           REAL NOT NULL,
    kind         TEXT NOT NULL,        -- state | gap_suspected | liveness
    model        TEXT,
    old          TEXT,
    new          TEXT,
    window_start REAL,
    window_end   REAL,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_events_by_host ON model_events (host, at);
CREATE INDEX model_events_by_age  ON model_events (at);
