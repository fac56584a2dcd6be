//! Boosts (Announce) our accounts made, the rules that boost allies' posts automatically,
//! and the members of group accounts.

use url::Url;

use super::{Store, StoreError, StoreResult, Tx, flag, now_millis};

/// Which posts of a followed account are boosted automatically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoostRule {
    /// Every public top-level post.
    All,
    /// Public top-level posts carrying one of these hashtags (lower case, without `#`).
    Tags(Vec<String>),
}

/// Who a group account relays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Local(i64),
    Remote(i64),
}

/// A rule as stored: `mode` and, for `tags`, a JSON list of hashtags.
pub(super) fn parse_rule(mode: &str, tags_json: &str) -> Option<BoostRule> {
    match mode {
        "all" => Some(BoostRule::All),
        _ => serde_json::from_str(tags_json).ok().map(BoostRule::Tags),
    }
}

impl Tx {
    /// Records a boost; false if the account had boosted that post already.
    pub async fn insert_boost(
        &mut self,
        actor_id: i64,
        object_id: &Url,
        announce_id: &Url,
        automatic: bool,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO boosts (actor_id, object_id, announce_id, automatic, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (actor_id, object_id) DO NOTHING",
        )
        .bind(actor_id)
        .bind(object_id.as_str().to_owned())
        .bind(announce_id.as_str().to_owned())
        .bind(flag(automatic))
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes a boost; returns the Announce's id if there was one.
    pub async fn remove_boost(
        &mut self,
        actor_id: i64,
        object_id: &Url,
    ) -> StoreResult<Option<Url>> {
        let announce: Option<String> = sqlx::query_scalar(
            "DELETE FROM boosts WHERE actor_id = $1 AND object_id = $2 RETURNING announce_id",
        )
        .bind(actor_id)
        .bind(object_id.as_str().to_owned())
        .fetch_optional(&mut *self.inner)
        .await?;
        announce
            .map(|id| Url::parse(&id).map_err(|_| StoreError::Corrupt(format!("announce {id}"))))
            .transpose()
    }

    /// Our accounts (and their rules) that follow `remote_actor_id` and boost its posts.
    pub async fn boost_rules_for(
        &mut self,
        remote_actor_id: i64,
    ) -> StoreResult<Vec<(i64, BoostRule)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT r.actor_id, r.mode, r.tags_json FROM boost_rules r JOIN following f \
             ON f.actor_id = r.actor_id AND f.remote_actor_id = r.remote_actor_id \
             WHERE r.remote_actor_id = $1 AND f.state = 'accepted'",
        )
        .bind(remote_actor_id)
        .fetch_all(&mut *self.inner)
        .await?;
        rows.into_iter()
            .map(|(actor_id, mode, tags)| {
                let rule = parse_rule(&mode, &tags)
                    .ok_or_else(|| StoreError::Corrupt(format!("boost rule of {actor_id}")))?;
                Ok((actor_id, rule))
            })
            .collect()
    }

    /// The group accounts a local account is a member of.
    pub async fn groups_of_local(&mut self, member_actor_id: i64) -> StoreResult<Vec<i64>> {
        let groups =
            sqlx::query_scalar("SELECT group_id FROM group_members WHERE member_actor_id = $1")
                .bind(member_actor_id)
                .fetch_all(&mut *self.inner)
                .await?;
        Ok(groups)
    }
}

impl Store {
    /// Sets (or, with None, removes) the rule by which `actor_id` boosts a followed account.
    pub async fn set_boost_rule(
        &self,
        actor_id: i64,
        remote_actor_id: i64,
        rule: Option<&BoostRule>,
    ) -> StoreResult<()> {
        match rule {
            None => {
                sqlx::query("DELETE FROM boost_rules WHERE actor_id = $1 AND remote_actor_id = $2")
                    .bind(actor_id)
                    .bind(remote_actor_id)
                    .execute(&self.pool)
                    .await?;
            }
            Some(rule) => {
                let (mode, tags) = match rule {
                    BoostRule::All => ("all", Vec::new()),
                    BoostRule::Tags(tags) => {
                        ("tags", tags.iter().map(|t| t.to_lowercase()).collect())
                    }
                };
                let tags =
                    serde_json::to_string(&tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO boost_rules (actor_id, remote_actor_id, mode, tags_json) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (actor_id, remote_actor_id) DO UPDATE SET mode = excluded.mode, tags_json = excluded.tags_json",
                )
                .bind(actor_id)
                .bind(remote_actor_id)
                .bind(mode)
                .bind(tags)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Adds a member to a group account; false if it was a member already.
    pub async fn add_group_member(&self, group_id: i64, member: &Member) -> StoreResult<bool> {
        let (local, remote) = match member {
            Member::Local(id) => (Some(*id), None),
            Member::Remote(id) => (None, Some(*id)),
        };
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND \
             (member_actor_id = $2 OR member_remote_id = $3)",
        )
        .bind(group_id)
        .bind(local)
        .bind(remote)
        .fetch_one(&self.pool)
        .await?;
        if exists > 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO group_members (group_id, member_actor_id, member_remote_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(group_id)
            .bind(local)
            .bind(remote)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(true)
    }

    pub async fn remove_group_member(&self, group_id: i64, member: &Member) -> StoreResult<bool> {
        let result = match member {
            Member::Local(id) => {
                sqlx::query(
                    "DELETE FROM group_members WHERE group_id = $1 AND member_actor_id = $2",
                )
                .bind(group_id)
                .bind(*id)
                .execute(&self.pool)
                .await?
            }
            Member::Remote(id) => {
                sqlx::query(
                    "DELETE FROM group_members WHERE group_id = $1 AND member_remote_id = $2",
                )
                .bind(group_id)
                .bind(*id)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(result.rows_affected() > 0)
    }

    /// Whether `actor_id` has boosted `object_id`.
    pub async fn has_boosted(&self, actor_id: i64, object_id: &Url) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM boosts WHERE actor_id = $1 AND object_id = $2",
        )
        .bind(actor_id)
        .bind(object_id.as_str().to_owned())
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }
}
