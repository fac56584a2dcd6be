-- Imported posts (RSS, Atom, WordPress): where the original lives, and which items of a source
-- an account already has, so an import run again adds nothing twice.
ALTER TABLE posts ADD COLUMN original_url TEXT;

CREATE TABLE imported_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- The item's feed GUID, Atom id or WordPress guid (see src/import/mod.rs).
    import_key  TEXT NOT NULL,
    -- The feed URL or file it came from, for the bridge's "newest imported" mark.
    source      TEXT NOT NULL,
    post_id     BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    imported_at BIGINT NOT NULL,
    CONSTRAINT imported_items_actor_key UNIQUE (actor_id, import_key)
);
CREATE INDEX imported_items_source_idx ON imported_items (actor_id, source);
