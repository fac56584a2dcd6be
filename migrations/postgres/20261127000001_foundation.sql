-- Broadside's foundation schema (PostgreSQL dialect; migrations/sqlite holds the same schema).
-- Times are Unix milliseconds and flags are 0/1 integers, so the one set of queries in
-- src/store reads both backends through sqlx's Any driver.

-- The organization accounts this instance hosts.
CREATE TABLE actors (
    id                          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username                    TEXT NOT NULL,
    actor_type                  TEXT NOT NULL CHECK (actor_type IN ('organization', 'group', 'person', 'service')),
    name                        TEXT NOT NULL,
    summary_md                  TEXT NOT NULL DEFAULT '',
    summary_html                TEXT NOT NULL DEFAULT '',
    icon_url                    TEXT,
    image_url                   TEXT,
    manually_approves_followers BIGINT NOT NULL DEFAULT 0 CHECK (manually_approves_followers IN (0, 1)),
    discoverable                BIGINT NOT NULL DEFAULT 1 CHECK (discoverable IN (0, 1)),
    indexable                   BIGINT NOT NULL DEFAULT 1 CHECK (indexable IN (0, 1)),
    fields_json                 TEXT NOT NULL DEFAULT '[]',
    also_known_as_json          TEXT NOT NULL DEFAULT '[]',
    public_key_pem              TEXT NOT NULL,
    private_key_pem             TEXT NOT NULL,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    CONSTRAINT actors_username_key UNIQUE (username)
);

-- The instance's own Application actor, which signs fetches of remote documents.
CREATE TABLE instance_actor (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Actors on other servers that we have fetched, with the key that verifies their signatures.
CREATE TABLE remote_actors (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ap_id           TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    username        TEXT NOT NULL,
    host            TEXT NOT NULL,
    name            TEXT,
    inbox           TEXT NOT NULL,
    shared_inbox    TEXT,
    url             TEXT,
    public_key_id   TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    fetched_at      BIGINT NOT NULL,
    CONSTRAINT remote_actors_ap_id_key UNIQUE (ap_id)
);
CREATE INDEX remote_actors_host_idx ON remote_actors (host);

-- Who follows our accounts. A row is 'pending' while the account approves followers by hand.
CREATE TABLE followers (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id           BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    remote_actor_id    BIGINT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    follow_activity_id TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at         BIGINT NOT NULL,
    CONSTRAINT followers_actor_remote_key UNIQUE (actor_id, remote_actor_id)
);
CREATE INDEX followers_remote_idx ON followers (remote_actor_id);

-- Whom our accounts follow (sister organizations).
CREATE TABLE following (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id           BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    remote_actor_id    BIGINT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    follow_activity_id TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at         BIGINT NOT NULL,
    CONSTRAINT following_actor_remote_key UNIQUE (actor_id, remote_actor_id)
);

-- Posts of the accounts ours follow (allied organizations), kept current by their Update
-- and Delete. Content is sanitized before it is stored.
CREATE TABLE remote_posts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ap_id           TEXT NOT NULL,
    remote_actor_id BIGINT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    name            TEXT,
    summary         TEXT,
    content         TEXT NOT NULL,
    language        TEXT,
    url             TEXT,
    in_reply_to     TEXT,
    published_at    BIGINT NOT NULL,
    edited_at       BIGINT,
    received_at     BIGINT NOT NULL,
    CONSTRAINT remote_posts_ap_id_key UNIQUE (ap_id)
);
CREATE INDEX remote_posts_published_idx ON remote_posts (published_at);

-- Ids of activities already received, so a redelivery is acknowledged but not applied twice.
CREATE TABLE received_activities (
    activity_id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX received_activities_time_idx ON received_activities (received_at);

-- The organization's people who sign in to write and publish.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'author')),
    disabled      BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT users_login_key UNIQUE (login)
);

-- Which organization accounts an editor or author works for (admins work for all).
CREATE TABLE memberships (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, actor_id)
);

-- API tokens: only a SHA-256 of the token is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    CONSTRAINT api_tokens_hash_key UNIQUE (token_hash)
);

-- Browser sessions: the cookie carries a random token, the table its SHA-256.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Who did what, and when.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_time_idx ON audit_log (created_at);

-- The one-time setup link printed on an empty instance: only its SHA-256 is kept.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- Posts: statements (Article) and news (Note) of our accounts.
CREATE TABLE posts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id      BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('statement', 'news')),
    state         TEXT NOT NULL CHECK (state IN ('draft', 'review', 'scheduled', 'published', 'deleted')),
    title         TEXT,
    summary       TEXT,
    body_md       TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    excerpt       TEXT NOT NULL,
    language      TEXT NOT NULL,
    tags_json     TEXT NOT NULL DEFAULT '[]',
    mentions_json TEXT NOT NULL DEFAULT '[]',
    pinned_at     BIGINT,
    scheduled_at  BIGINT,
    author_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    published_at  BIGINT,
    edited_at     BIGINT,
    deleted_at    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX posts_actor_state_idx ON posts (actor_id, state, published_at);
CREATE INDEX posts_scheduled_idx ON posts (state, scheduled_at);

-- Hashtags of posts, for tag pages.
CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (post_id, tag)
);
CREATE INDEX post_tags_tag_idx ON post_tags (tag);

-- Images attached to posts; the files live under the data folder.
CREATE TABLE media (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id     BIGINT REFERENCES posts (id) ON DELETE CASCADE,
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    width       BIGINT NOT NULL,
    height      BIGINT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    alt         TEXT NOT NULL,
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX media_post_idx ON media (post_id, position);

-- Delivery health per remote host; a host failing for days is skipped until heard from.
CREATE TABLE hosts (
    host            TEXT PRIMARY KEY,
    failing_since   BIGINT,
    last_success_at BIGINT,
    last_failure_at BIGINT
);

-- Bumped on every change to public content, so every process can drop stale cached pages.
CREATE TABLE site_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO site_version (id, version) VALUES (1, 0);

-- Activities we send, each serialized once; deliveries point at them. Also the outbox.
CREATE TABLE outbox_activities (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ap_id      TEXT NOT NULL,
    actor_id   BIGINT REFERENCES actors (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    post_id    BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT outbox_activities_ap_id_key UNIQUE (ap_id)
);
CREATE INDEX outbox_activities_actor_idx ON outbox_activities (actor_id, kind, id);

-- The durable outbox queue: one row per activity and target inbox, written in the same
-- transaction as the change that caused it, and worked off by the delivery workers.
CREATE TABLE deliveries (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_activity_id BIGINT NOT NULL REFERENCES outbox_activities (id) ON DELETE CASCADE,
    inbox              TEXT NOT NULL,
    host               TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'failed')),
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    locked_until       BIGINT NOT NULL DEFAULT 0,
    last_status        BIGINT,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX deliveries_due_idx ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_host_idx ON deliveries (host, state);
