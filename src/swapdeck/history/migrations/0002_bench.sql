-- swapdeck history, schema version 2: bench suites, runs, raw samples and baselines (issue 4).

-- A suite as it was run: the canonical JSON of the parsed TOML, keyed by its sha256, so a
-- run always points at exactly the definition it used even after the file changes.
CREATE TABLE bench_suites (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    digest      TEXT    NOT NULL UNIQUE,   -- sha256 of `definition`
    definition  TEXT    NOT NULL,          -- JSON
    source_path TEXT,
    created_at  REAL    NOT NULL
);
CREATE INDEX bench_suites_by_name ON bench_suites (name);

-- One run = one suite on one model of one host.
CREATE TABLE bench_runs (
    id                   INTEGER PRIMARY KEY,
    suite_id             INTEGER NOT NULL REFERENCES bench_suites (id),
    suite_name           TEXT    NOT NULL,
    host                 TEXT    NOT NULL,
    target_url           TEXT    NOT NULL,   -- without any user:password part
    via                  TEXT    NOT NULL,   -- llama-swap | llama-server
    model                TEXT    NOT NULL,
    engine_build         TEXT,               -- /props build_info or system_fingerprint
    engine_binary_sha256 TEXT,               -- when swapdeck launched the engine itself
    hardware_fp          TEXT,
    model_fp             TEXT,
    environment          TEXT    NOT NULL,   -- JSON: hardware, model meta, cmd, slots, n_ctx
    started_at           REAL    NOT NULL,
    finished_at          REAL,
    status               TEXT    NOT NULL,   -- running | done | cancelled | failed
    error                TEXT,
    verdict              TEXT,               -- PASS | WARN | UNSTABLE | FAIL vs the baseline
    compared_to          INTEGER REFERENCES bench_runs (id),
    load_ms              REAL,               -- first request to a cold model minus a warm TTFT
    model_was_loaded     INTEGER,
    prompt_sizing        TEXT,               -- tokenize | calibrated
    template_overhead    REAL,
    polluted             INTEGER NOT NULL DEFAULT 0,
    foreign_requests     TEXT    NOT NULL DEFAULT '[]',  -- JSON array of in-flight ids seen
    client_cpu_ms        REAL
);
CREATE INDEX bench_runs_by_target ON bench_runs (host, model, suite_name, started_at);
CREATE INDEX bench_runs_by_time   ON bench_runs (started_at);

-- Every request of a run, warmups and probes included (flagged), as measured.
CREATE TABLE bench_samples (
    id                   INTEGER PRIMARY KEY,
    run_id               INTEGER NOT NULL REFERENCES bench_runs (id) ON DELETE CASCADE,
    cell                 TEXT    NOT NULL,   -- pp<P>/tg<G>/c<C>, or 'probe'
    prompt_tokens_target INTEGER NOT NULL,
    gen_tokens_target    INTEGER NOT NULL,
    concurrency          INTEGER NOT NULL,
    idx                  INTEGER NOT NULL,
    warmup               INTEGER NOT NULL,
    started_at           REAL    NOT NULL,
    status               INTEGER,
    error                TEXT,
    ttfr_ms              REAL,
    ttft_ms              REAL,
    ttfo_ms              REAL,
    e2e_ms               REAL,
    tpot_ms              REAL,
    itl_ms               TEXT    NOT NULL,   -- JSON array
    n_in                 INTEGER,
    n_out                INTEGER,
    tg_client            REAL,
    cache_n              INTEGER,
    prompt_n             INTEGER,
    prompt_ms            REAL,
    predicted_n          INTEGER,
    predicted_ms         REAL,
    tg_norm              REAL,               -- 1000*(predicted_n-1)/predicted_ms, every build
    pp_server            REAL,
    finish_reason        TEXT,
    fingerprint          TEXT,
    client_cpu_ms        REAL    NOT NULL,
    timings              TEXT                -- the raw llama.cpp object, JSON
);
CREATE INDEX bench_samples_by_run ON bench_samples (run_id, cell, idx);

-- The run new runs are judged against, per host + model + suite.
CREATE TABLE bench_baselines (
    host       TEXT    NOT NULL,
    model      TEXT    NOT NULL,
    suite_name TEXT    NOT NULL,
    run_id     INTEGER NOT NULL REFERENCES bench_runs (id),
    set_at     REAL    NOT NULL,
    PRIMARY KEY (host, model, suite_name)
) WITHOUT ROWID;
