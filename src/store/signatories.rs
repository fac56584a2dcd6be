//! The co-signers of joint statements (`post_signatories`): saved with the post in its
//! transaction, and read back with every post the store returns, one query per kind of
//! co-signer for a whole list of posts.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use super::{
    StoreError, StoreResult, Tx,
    remote_actors::{RemoteActorRow, remote_actor_columns},
};
use crate::domain::{Cosigner, CosignerRef, Post, RemoteActor, Username};

#[derive(FromRow)]
struct LocalRow {
    post_id: i64,
    position: i64,
    id: i64,
    username: String,
    name: String,
}

#[derive(FromRow)]
struct RemoteRow {
    post_id: i64,
    position: i64,
    #[sqlx(flatten)]
    actor: RemoteActorRow,
}

impl Tx {
    /// Replaces the co-signers of a post with `cosigners`, in this order.
    pub async fn set_cosigners(
        &mut self,
        post_id: i64,
        cosigners: &[CosignerRef],
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM post_signatories WHERE post_id = $1")
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        for (position, cosigner) in (1_i64..).zip(cosigners) {
            let (local, remote) = match cosigner {
                CosignerRef::Local(id) => (Some(*id), None),
                CosignerRef::Remote(id) => (None, Some(*id)),
            };
            sqlx::query(
                "INSERT INTO post_signatories (post_id, position, actor_id, remote_actor_id) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(post_id)
            .bind(position)
            .bind(local)
            .bind(remote)
            .execute(&mut *self.inner)
            .await?;
        }
        Ok(())
    }
}

/// `$1, $2, …` for `count` values: the SQL text is built only from these markers.
fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills in the co-signers of each post, in their stored order.
pub(super) async fn attach_cosigners(
    conn: &mut AnyConnection,
    posts: &mut [Post],
) -> StoreResult<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let marks = placeholders(posts.len());
    let mut found: HashMap<i64, Vec<(i64, Cosigner)>> = HashMap::new();

    let sql = format!(
        "SELECT s.post_id, s.position, a.id, a.username, a.name FROM post_signatories s \
         JOIN actors a ON a.id = s.actor_id WHERE s.post_id IN ({marks})"
    );
    let mut query = sqlx::query_as::<_, LocalRow>(sqlx::AssertSqlSafe(sql));
    for post in posts.iter() {
        query = query.bind(post.id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let username = Username::parse(&row.username)
            .map_err(|_| StoreError::Corrupt(format!("actor {}: username", row.id)))?;
        let cosigner = Cosigner::Local {
            id: row.id,
            username,
            name: row.name,
        };
        found
            .entry(row.post_id)
            .or_default()
            .push((row.position, cosigner));
    }

    let sql = format!(
        "SELECT s.post_id, s.position, {} FROM post_signatories s \
         JOIN remote_actors r ON r.id = s.remote_actor_id WHERE s.post_id IN ({marks})",
        remote_actor_columns!("r.")
    );
    let mut query = sqlx::query_as::<_, RemoteRow>(sqlx::AssertSqlSafe(sql));
    for post in posts.iter() {
        query = query.bind(post.id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let actor = RemoteActor::try_from(row.actor)?;
        found
            .entry(row.post_id)
            .or_default()
            .push((row.position, Cosigner::Remote(Box::new(actor))));
    }

    for post in posts.iter_mut() {
        if let Some(mut cosigners) = found.remove(&post.id) {
            cosigners.sort_by_key(|(position, _)| *position);
            post.cosigners = cosigners.into_iter().map(|(_, c)| c).collect();
        }
    }
    Ok(())
}
