//! Blocked domains and actors, and what a block removes: follows both ways, kept posts,
//! their interactions with ours, and queued deliveries.
//!
//! Hosts are matched in Rust ([`BlockedDomain::covers_authority`]) and looked up with the
//! list of entries that would cover them ([`block::candidates`]), so a domain block covering
//! subdomains needs no `LIKE` (whose `_` wildcard would also match letters in host names).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use url::Url;

use super::{Store, StoreError, StoreResult, Tx, now_millis};
use crate::domain::{BlockedDomain, block};

/// The most values bound to one `IN (…)`; SQLite allows 32,766 and PostgreSQL 65,535.
const CHUNK: usize = 500;

/// A blocked domain as listed to admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainBlock {
    pub domain: BlockedDomain,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// A blocked actor as listed to admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorBlock {
    pub ap_id: Url,
    pub created_at: DateTime<Utc>,
}

/// What a block took away, for the admin's confirmation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Follows of our accounts by the blocked actors (accepted or pending).
    pub followers: u64,
    /// Follows of ours of the blocked actors.
    pub following: u64,
    /// Posts of theirs we kept.
    pub posts: u64,
    /// Their likes, boosts and replies of our posts and mentions of our accounts.
    pub interactions: u64,
    /// Deliveries to them still queued, now failed with `blocked`.
    pub deliveries: u64,
}

impl Purged {
    fn add(&mut self, other: Self) {
        self.followers += other.followers;
        self.following += other.following;
        self.posts += other.posts;
        self.interactions += other.interactions;
        self.deliveries += other.deliveries;
    }
}

/// Which of `candidates` are blocked domains.
async fn domains_among(
    conn: &mut AnyConnection,
    candidates: &[String],
) -> StoreResult<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in candidates.chunks(CHUNK) {
        // The SQL text is built only from "$n" markers; the values are bound.
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT domain FROM domain_blocks WHERE domain IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for candidate in chunk {
            query = query.bind(candidate.clone());
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

fn time(millis: i64, what: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| StoreError::Corrupt(what.to_owned()))
}

impl Store {
    /// Why activities from `actor` are refused, if they are: the domain block covering its
    /// host (`domain example.org`) or the block of the actor itself (`actor URL`).
    pub async fn block_covering(&self, actor: &Url) -> StoreResult<Option<String>> {
        let mut candidates = block::candidates(actor);
        candidates.sort();
        candidates.dedup();
        // One statement, as the inbox asks this of every activity. A DNS name has at most 127
        // labels, so its candidates fit one `IN (…)` (a longer name resolves nowhere anyway);
        // the SQL text holds only markers.
        candidates.truncate(CHUNK);
        let mut sql = String::from(
            "SELECT 'actor' AS kind, ap_id AS name FROM actor_blocks WHERE ap_id = $1",
        );
        if !candidates.is_empty() {
            let markers: Vec<String> = (2..candidates.len() + 2).map(|n| format!("${n}")).collect();
            sql.push_str(&format!(
                " UNION ALL SELECT 'domain', domain FROM domain_blocks WHERE domain IN ({})",
                markers.join(", ")
            ));
        }
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql))
            .bind(actor.as_str().to_owned());
        for candidate in candidates {
            query = query.bind(candidate);
        }
        let blocks = query.fetch_all(&self.pool).await?;
        // The most specific domain entry is the one the admin will recognise.
        let domain = blocks
            .iter()
            .filter(|(kind, _)| kind == "domain")
            .map(|(_, name)| name)
            .max_by_key(|name| name.len());
        Ok(match domain {
            Some(domain) => Some(format!("domain {domain}")),
            None if !blocks.is_empty() => Some(format!("actor {actor}")),
            None => None,
        })
    }

    /// Every blocked domain, alphabetically.
    pub async fn domain_blocks(&self) -> StoreResult<Vec<DomainBlock>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT domain, comment, created_at FROM domain_blocks ORDER BY domain")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(domain, comment, created_at)| {
                Ok(DomainBlock {
                    domain: BlockedDomain::parse(&domain)
                        .map_err(|_| StoreError::Corrupt(format!("domain block {domain}")))?,
                    comment,
                    created_at: time(created_at, "domain block time")?,
                })
            })
            .collect()
    }

    /// Every blocked actor, by id.
    pub async fn actor_blocks(&self) -> StoreResult<Vec<ActorBlock>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT ap_id, created_at FROM actor_blocks ORDER BY ap_id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(ap_id, created_at)| {
                Ok(ActorBlock {
                    ap_id: Url::parse(&ap_id)
                        .map_err(|_| StoreError::Corrupt(format!("actor block {ap_id}")))?,
                    created_at: time(created_at, "actor block time")?,
                })
            })
            .collect()
    }

    /// The id of a remote actor we have fetched, by `@user@host` (the host of its id), so
    /// that blocking by handle needs no network when we know the actor.
    pub async fn known_actor_by_handle(&self, user: &str, host: &str) -> StoreResult<Option<Url>> {
        let ap_id: Option<String> = sqlx::query_scalar(
            "SELECT ap_id FROM remote_actors WHERE username = $1 AND host = $2 ORDER BY id LIMIT 1",
        )
        .bind(user.to_owned())
        .bind(host.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        ap_id
            .map(|id| {
                Url::parse(&id).map_err(|_| StoreError::Corrupt(format!("remote actor {id}")))
            })
            .transpose()
    }

    /// Lifts a domain block; returns whether there was one.
    pub async fn remove_domain_block(&self, domain: &BlockedDomain) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM domain_blocks WHERE domain = $1")
            .bind(domain.as_str().to_owned())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Lifts an actor block; returns whether there was one.
    pub async fn remove_actor_block(&self, ap_id: &Url) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM actor_blocks WHERE ap_id = $1")
            .bind(ap_id.as_str().to_owned())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}

impl Tx {
    /// Blocks a domain; false if it was blocked already (the comment is then left as it was).
    pub async fn insert_domain_block(
        &mut self,
        domain: &BlockedDomain,
        comment: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO domain_blocks (domain, comment, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (domain) DO NOTHING",
        )
        .bind(domain.as_str().to_owned())
        .bind(comment.to_owned())
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Blocks an actor; false if it was blocked already.
    pub async fn insert_actor_block(&mut self, ap_id: &Url) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO actor_blocks (ap_id, created_at) VALUES ($1, $2) \
             ON CONFLICT (ap_id) DO NOTHING",
        )
        .bind(ap_id.as_str().to_owned())
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes what ties us to every actor on the blocked domains: their follows of our
    /// accounts and ours of them, the posts of theirs we kept, their likes, boosts, replies
    /// and mentions, and deliveries to their hosts still queued (failed with `blocked`). Takes a list so that an imported blocklist reads
    /// the known hosts once, not once per domain.
    pub async fn purge_domains(&mut self, domains: &[BlockedDomain]) -> StoreResult<Purged> {
        let mut purged = Purged::default();
        if domains.is_empty() {
            return Ok(purged);
        }
        let covered = |host: &&String| domains.iter().any(|d| d.covers_authority(host));
        let hosts: Vec<String> = sqlx::query_scalar("SELECT DISTINCT host FROM remote_actors")
            .fetch_all(&mut *self.inner)
            .await?;
        for host in hosts.iter().filter(covered) {
            let actors: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM remote_actors WHERE host = $1")
                    .bind(host.clone())
                    .fetch_all(&mut *self.inner)
                    .await?;
            for actor in actors {
                purged.add(self.purge_remote_actor(actor).await?);
            }
        }
        let queued: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT host FROM deliveries WHERE state = 'queued'")
                .fetch_all(&mut *self.inner)
                .await?;
        for host in queued.iter().filter(covered) {
            let result = sqlx::query(
                "UPDATE deliveries SET state = 'failed', last_error = 'blocked', \
                 locked_until = 0, updated_at = $1 WHERE state = 'queued' AND host = $2",
            )
            .bind(now_millis())
            .bind(host.clone())
            .execute(&mut *self.inner)
            .await?;
            purged.deliveries += result.rows_affected();
        }
        self.bump_site_version().await?;
        Ok(purged)
    }

    /// Removes what ties us to one blocked actor, as [`Tx::purge_domains`] does for domains.
    /// Only deliveries to its own inbox are dropped: a shared inbox serves the other
    /// accounts of its server too.
    pub async fn purge_actor(&mut self, ap_id: &Url) -> StoreResult<Purged> {
        let known: Option<(i64, String)> =
            sqlx::query_as("SELECT id, inbox FROM remote_actors WHERE ap_id = $1")
                .bind(ap_id.as_str().to_owned())
                .fetch_optional(&mut *self.inner)
                .await?;
        let Some((id, inbox)) = known else {
            return Ok(Purged::default());
        };
        let mut purged = self.purge_remote_actor(id).await?;
        let result = sqlx::query(
            "UPDATE deliveries SET state = 'failed', last_error = 'blocked', \
             locked_until = 0, updated_at = $1 WHERE state = 'queued' AND inbox = $2",
        )
        .bind(now_millis())
        .bind(inbox)
        .execute(&mut *self.inner)
        .await?;
        purged.deliveries = result.rows_affected();
        self.bump_site_version().await?;
        Ok(purged)
    }

    async fn purge_remote_actor(&mut self, remote_actor_id: i64) -> StoreResult<Purged> {
        let mut counts = [0_u64; 4];
        // Fixed statements, one per table, so no SQL is assembled from names.
        let statements = [
            "DELETE FROM followers WHERE remote_actor_id = $1",
            "DELETE FROM following WHERE remote_actor_id = $1",
            "DELETE FROM remote_posts WHERE remote_actor_id = $1",
            "DELETE FROM interactions WHERE remote_actor_id = $1",
        ];
        for (count, sql) in counts.iter_mut().zip(statements) {
            *count = sqlx::query(sql)
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?
                .rows_affected();
        }
        let [followers, following, posts, interactions] = counts;
        Ok(Purged {
            followers,
            following,
            posts,
            interactions,
            deliveries: 0,
        })
    }

    /// Which of `inboxes` must not be delivered to: those on a blocked domain, and the own
    /// inboxes of blocked actors.
    pub async fn blocked_inboxes(&mut self, inboxes: &[Url]) -> StoreResult<HashSet<Url>> {
        let mut candidates: Vec<String> = inboxes.iter().flat_map(block::candidates).collect();
        candidates.sort();
        candidates.dedup();
        let domains = domains_among(&mut self.inner, &candidates).await?;
        let actor_inboxes: HashSet<String> = sqlx::query_scalar(
            "SELECT r.inbox FROM actor_blocks b JOIN remote_actors r ON r.ap_id = b.ap_id",
        )
        .fetch_all(&mut *self.inner)
        .await?
        .into_iter()
        .collect();
        Ok(inboxes
            .iter()
            .filter(|inbox| {
                actor_inboxes.contains(inbox.as_str())
                    || block::candidates(inbox).iter().any(|c| domains.contains(c))
            })
            .cloned()
            .collect())
    }
}
