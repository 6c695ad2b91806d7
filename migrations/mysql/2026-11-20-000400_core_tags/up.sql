-- Tags, shared by the forum and any domain that tags things. Names are unique
-- case-insensitively through `name_key` (the Unicode lower-case name, compared byte for byte);
-- slugs are stored lower-case and compared byte for byte too. Unique keys are named after the
-- field a conflict reports (see crates/kernel/src/error.rs).
-- `usage_count` is maintained in SQL (`usage_count = usage_count ± n`) by the domains that
-- attach tags, in the transaction that attaches or detaches them.
CREATE TABLE tags (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    name_key VARCHAR(50) NOT NULL COLLATE utf8mb4_bin,
    slug VARCHAR(60) NOT NULL COLLATE utf8mb4_bin,
    color VARCHAR(7) NOT NULL DEFAULT '#6c757d',
    description TEXT NOT NULL,
    usage_count BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY name (name_key),
    UNIQUE KEY slug (slug),
    KEY idx_tags_usage (usage_count),
    KEY idx_tags_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
