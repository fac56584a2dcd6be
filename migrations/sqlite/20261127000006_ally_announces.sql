-- Boosts by followed accounts of posts written by others (ActivityStreams Announce). The
-- boosted post itself is kept in remote_posts, as fetched from its own server.
CREATE TABLE remote_announces (
    id              INTEGER PRIMARY KEY,
    activity_id     TEXT NOT NULL,
    remote_actor_id INTEGER NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    remote_post_id  INTEGER NOT NULL REFERENCES remote_posts (id) ON DELETE CASCADE,
    received_at     INTEGER NOT NULL,
    CONSTRAINT remote_announces_activity_key UNIQUE (activity_id),
    CONSTRAINT remote_announces_actor_post_key UNIQUE (remote_actor_id, remote_post_id)
);
CREATE INDEX remote_announces_post_idx ON remote_announces (remote_post_id);
