-- Imported posts (RSS, Atom, WordPress): where the original lives, and which items of a source
-- an account already has, so an import run again adds nothing twice.
ALTER TABLE posts ADD COLUMN original_url TEXT;

CREATE TABLE imported_items (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- The item's feed GUID, Atom id or WordPress guid (see src/import/mod.rs).
    import_key  TEXT NOT NULL,
    -- The feed URL or file it came from, for the bridge's "newest imported" mark.
    source      TEXT NOT NULL,
    post_id     INTEGER REFERENCES posts (id) ON DELETE SET NULL,
    imported_at INTEGER NOT NULL,
    CONSTRAINT imported_items_actor_key UNIQUE (actor_id, import_key)
);
CREATE INDEX imported_items_source_idx ON imported_items (actor_id, source);
