-- Account migration (ActivityPub `Move`), in the SQLite dialect.

-- Where the account moved to (the new account's actor id), once it has; a moved account
-- publishes nothing more, and its actor document carries `movedTo`.
ALTER TABLE actors ADD COLUMN moved_to TEXT;

-- Moves received whose target is one of our accounts: an organization bringing the
-- followers of its old account (on Mastodon, say) here.
CREATE TABLE moves_received (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- The old account: the Move's actor and object.
    origin      TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    -- The highest followers.id when the Move was recorded: follows after it have higher ids.
    followers_before INTEGER NOT NULL
);
CREATE INDEX moves_received_actor_idx ON moves_received (actor_id, received_at);

-- For a follow that began within a week after a Move to the account: the old account moved
-- from. On the wire a follow caused by a Move looks like any other, so this is an inference
-- by time (see docs/FEDERATION.md), not a fact.
ALTER TABLE followers ADD COLUMN moved_from TEXT;
