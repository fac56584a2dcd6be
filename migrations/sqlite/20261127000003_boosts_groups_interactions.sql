-- Boosts, group accounts and interactions from the fediverse (ActivityStreams Announce,
-- Like and replies), in the SQLite dialect.

-- Posts our accounts boosted (Announce), by hand or by an ally rule.
CREATE TABLE boosts (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    object_id   TEXT NOT NULL,
    announce_id TEXT NOT NULL,
    automatic   INTEGER NOT NULL DEFAULT 0 CHECK (automatic IN (0, 1)),
    created_at  INTEGER NOT NULL,
    CONSTRAINT boosts_actor_object_key UNIQUE (actor_id, object_id)
);

-- Which posts of a followed account one of ours boosts automatically: all public
-- top-level posts, or those with one of the chosen hashtags.
CREATE TABLE boost_rules (
    actor_id        INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    remote_actor_id INTEGER NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    mode            TEXT NOT NULL CHECK (mode IN ('all', 'tags')),
    tags_json       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (actor_id, remote_actor_id)
);

-- Members of a group account (the International): local accounts or followed ones.
CREATE TABLE group_members (
    id               INTEGER PRIMARY KEY,
    group_id         INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    member_actor_id  INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    member_remote_id INTEGER REFERENCES remote_actors (id) ON DELETE CASCADE,
    created_at       INTEGER NOT NULL,
    CHECK ((member_actor_id IS NULL) <> (member_remote_id IS NULL))
);
CREATE UNIQUE INDEX group_members_local_idx ON group_members (group_id, member_actor_id);
CREATE UNIQUE INDEX group_members_remote_idx ON group_members (group_id, member_remote_id);

-- Likes, boosts and replies of our posts, and mentions of our accounts, from other servers.
CREATE TABLE interactions (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('like', 'announce', 'reply', 'mention')),
    activity_id     TEXT NOT NULL,
    remote_actor_id INTEGER NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    post_id         INTEGER REFERENCES posts (id) ON DELETE CASCADE,
    actor_id        INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    object_id       TEXT,
    content         TEXT,
    url             TEXT,
    approved        INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),
    created_at      INTEGER NOT NULL,
    CONSTRAINT interactions_activity_key UNIQUE (activity_id)
);
CREATE INDEX interactions_post_idx ON interactions (post_id, kind);
CREATE INDEX interactions_object_idx ON interactions (object_id);
