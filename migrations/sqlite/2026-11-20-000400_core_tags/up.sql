-- Tags, shared by the forum and any domain that tags things. Names are unique
-- case-insensitively through `name_key` (the Unicode lower-case name, compared byte for byte);
-- slugs are stored lower-case. `usage_count` is maintained in SQL by the domains that attach
-- tags, in the transaction that attaches or detaches them.
CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(50) NOT NULL,
    name_key VARCHAR(50) NOT NULL,
    slug VARCHAR(60) NOT NULL,
    color VARCHAR(7) NOT NULL DEFAULT '#6c757d',
    description TEXT NOT NULL DEFAULT '',
    usage_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_tags_name ON tags (name_key);
CREATE UNIQUE INDEX uq_tags_slug ON tags (slug);
CREATE INDEX idx_tags_usage ON tags (usage_count);
CREATE INDEX idx_tags_created ON tags (created_at);
