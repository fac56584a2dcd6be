-- Moderation: blocked domains and actors, and reports (Flag) received from other servers
-- (PostgreSQL dialect; migrations/sqlite holds the same schema).

-- Domains we neither hear from nor deliver to. An entry covers its subdomains; one with a
-- port (`host:port`) covers that port only. `comment` keeps a blocklist's public comment.
CREATE TABLE domain_blocks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain     TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    CONSTRAINT domain_blocks_domain_key UNIQUE (domain)
);

-- Single remote actors blocked, by id: kept by id rather than as a reference to
-- remote_actors, so the block holds for an actor never fetched and outlives its cached row.
CREATE TABLE actor_blocks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ap_id      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT actor_blocks_ap_id_key UNIQUE (ap_id)
);

-- Reports (ActivityStreams Flag) about our accounts and posts, for the admins.
-- `objects_json` is a JSON array of the reported ids that are ours.
CREATE TABLE reports (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id  TEXT NOT NULL,
    reporter     TEXT NOT NULL,
    objects_json TEXT NOT NULL DEFAULT '[]',
    content      TEXT NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL,
    CONSTRAINT reports_activity_id_key UNIQUE (activity_id)
);
CREATE INDEX reports_time_idx ON reports (received_at);
