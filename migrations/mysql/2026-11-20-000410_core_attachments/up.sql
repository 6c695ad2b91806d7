-- Uploaded files. The bytes live under MEDIA_ROOT at `path` (relative); the row keeps what
-- the upload measured: size, SHA-256 and the content type sniffed from the bytes.
-- Public attachments are readable by anyone; private ones by their owner and staff.
CREATE TABLE attachments (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner_id BIGINT NOT NULL,
    name VARCHAR(255) NOT NULL,
    content_type VARCHAR(127) NOT NULL,
    size BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    path VARCHAR(255) NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(6) NOT NULL,
    KEY idx_attachments_owner (owner_id, created_at),
    KEY idx_attachments_created (created_at),
    KEY idx_attachments_sha256 (sha256),
    CONSTRAINT fk_attachments_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
