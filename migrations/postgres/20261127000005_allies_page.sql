-- The public "Allied organizations" page (/users/NAME/allies), in the PostgreSQL dialect.

-- Whether an account shows the allies it follows, and their recent posts, on that page.
-- Off until the account chooses it.
ALTER TABLE actors ADD COLUMN allies_page BIGINT NOT NULL DEFAULT 0 CHECK (allies_page IN (0, 1));

-- Whether a received post was addressed to the public: only those are shown on a public page
-- (a followers-only post reached us because we follow; it is not ours to republish). Posts
-- kept before this column existed count as not public until their author updates them.
ALTER TABLE remote_posts ADD COLUMN is_public BIGINT NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1));
