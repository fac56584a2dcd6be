-- Other language versions of a post (the post's own language stays in posts.language). Each
-- is written and rendered like the post's text; the ActivityPub object carries them in
-- nameMap, summaryMap and contentMap after the post's own language.
CREATE TABLE post_translations (
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    language   TEXT NOT NULL,
    title      TEXT,
    summary    TEXT,
    body_md    TEXT NOT NULL,
    body_html  TEXT NOT NULL,
    excerpt    TEXT NOT NULL,
    -- The hashtags its text uses, as written (JSON); post_tags holds every version's.
    tags_json  TEXT NOT NULL DEFAULT '[]',
    -- Unix ms. Versions are listed in the order they were first added.
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, language)
);
-- Per-language feeds: the posts with a version in a language.
CREATE INDEX post_translations_language_idx ON post_translations (language, post_id);
