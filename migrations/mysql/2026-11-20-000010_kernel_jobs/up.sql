-- The durable job queue (kernel). A job is claimed by setting status 'running' with a lease
-- (locked_until); a worker that dies leaves the lease to expire and the job is claimed again.
-- unique_key de-duplicates for as long as the row exists (periodic jobs put their period in
-- it); NULLs do not collide.
CREATE TABLE jobs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind VARCHAR(64) NOT NULL,
    payload MEDIUMTEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    priority INT NOT NULL DEFAULT 0,
    run_at DATETIME(6) NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    max_attempts INT NOT NULL,
    unique_key VARCHAR(191) NULL COLLATE utf8mb4_bin,
    locked_by VARCHAR(64) NULL,
    locked_until DATETIME(6) NULL,
    last_error TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    UNIQUE KEY unique_key (unique_key),
    KEY idx_jobs_due (status, run_at, priority),
    KEY idx_jobs_lease (status, locked_until),
    KEY idx_jobs_kind (kind, status),
    KEY idx_jobs_finished (finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
