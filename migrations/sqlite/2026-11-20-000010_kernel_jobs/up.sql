-- The durable job queue (kernel). A job is claimed by setting status 'running' with a lease
-- (locked_by, locked_until, attempts + 1); a worker that dies leaves the lease to expire and
-- the job is claimed again. unique_key de-duplicates for as long as the row exists (periodic
-- jobs put their period in it); NULLs do not collide. max_attempts NULL means the worker's
-- default (WORKER_MAX_ATTEMPTS, or the handler's own limit).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind VARCHAR(64) NOT NULL,
    payload TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    run_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NULL,
    unique_key VARCHAR(191) NULL,
    locked_by VARCHAR(64) NULL,
    locked_until TIMESTAMP NULL,
    last_error TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX uq_jobs_unique_key ON jobs (unique_key);
-- claiming: due queued jobs, highest priority first, then oldest
CREATE INDEX idx_jobs_claim ON jobs (status, priority DESC, run_at, id);
-- recovering expired leases
CREATE INDEX idx_jobs_lease ON jobs (status, locked_until);
-- staff lists (?status=, ?kind=, newest first)
CREATE INDEX idx_jobs_status ON jobs (status, id);
CREATE INDEX idx_jobs_kind ON jobs (kind, id);
-- pruning finished jobs
CREATE INDEX idx_jobs_finished ON jobs (status, finished_at);
