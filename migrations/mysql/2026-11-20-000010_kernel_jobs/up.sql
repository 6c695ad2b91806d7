-- The durable job queue (kernel). A job is claimed by setting status 'running' with a lease
-- (locked_by, locked_until, attempts + 1); a worker that dies leaves the lease to expire and
-- the job is claimed again. unique_key de-duplicates for as long as the row exists (periodic
-- jobs put their period in it); NULLs do not collide. max_attempts NULL means the worker's
-- default (WORKER_MAX_ATTEMPTS, or the handler's own limit).
CREATE TABLE jobs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind VARCHAR(64) NOT NULL,
    payload MEDIUMTEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    priority INT NOT NULL DEFAULT 0,
    run_at DATETIME(6) NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    max_attempts INT NULL,
    unique_key VARCHAR(191) NULL COLLATE utf8mb4_bin,
    locked_by VARCHAR(64) NULL,
    locked_until DATETIME(6) NULL,
    last_error TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    UNIQUE KEY unique_key (unique_key),
    -- claiming: due queued jobs, highest priority first, then oldest
    KEY idx_jobs_claim (status, priority DESC, run_at, id),
    -- recovering expired leases
    KEY idx_jobs_lease (status, locked_until),
    -- staff lists (?status=, ?kind=, newest first)
    KEY idx_jobs_status (status, id),
    KEY idx_jobs_kind (kind, id),
    -- pruning finished jobs
    KEY idx_jobs_finished (status, finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
