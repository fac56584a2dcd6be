-- Joint statements: the accounts that co-sign a post besides the account publishing it, in
-- the order they are listed (after the publisher) in the post's attributedTo. A co-signer is
-- one of our accounts (it Announces the post to its followers) or an account elsewhere,
-- resolved and kept in remote_actors (it is mentioned and its inbox receives the post).
CREATE TABLE post_signatories (
    post_id         INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    actor_id        INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    remote_actor_id INTEGER REFERENCES remote_actors (id) ON DELETE CASCADE,
    CONSTRAINT post_signatories_pkey PRIMARY KEY (post_id, position),
    CONSTRAINT post_signatories_one_account CHECK ((actor_id IS NULL) <> (remote_actor_id IS NULL))
);
CREATE UNIQUE INDEX post_signatories_local_key ON post_signatories (post_id, actor_id);
CREATE UNIQUE INDEX post_signatories_remote_key ON post_signatories (post_id, remote_actor_id);
CREATE INDEX post_signatories_actor_idx ON post_signatories (actor_id);
