-- Uploaded files. The bytes live under MEDIA_ROOT at `path` (relative); the row keeps what
-- the upload measured: size, SHA-256 and the content type sniffed from the bytes.
-- Public attachments are readable by anyone; private ones by their owner and staff.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    content_type VARCHAR(127) NOT NULL,
    size BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    path VARCHAR(255) NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_attachments_owner ON attachments (owner_id, created_at);
CREATE INDEX idx_attachments_created ON attachments (created_at);
CREATE INDEX idx_attachments_sha256 ON attachments (sha256);
