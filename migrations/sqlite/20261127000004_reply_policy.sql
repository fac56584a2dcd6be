-- Replies to an account's posts: held for an editor (the default) or shown at once. And when
-- a post's public likes, boosts and replies last changed, so its page and document can say
-- when they were last modified (a like taken back leaves no row behind to date it).
-- SQLite dialect.

ALTER TABLE actors ADD COLUMN auto_approves_replies INTEGER NOT NULL DEFAULT 0
    CHECK (auto_approves_replies IN (0, 1));

ALTER TABLE posts ADD COLUMN interactions_changed_at INTEGER;
