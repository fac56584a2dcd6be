//! The organization's people: users and the accounts they work for, API tokens, browser
//! sessions, the one-time setup link, and the audit log.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{Store, StoreError, StoreResult, Tx, flag, now_millis};
use crate::domain::{Login, Role, User};

#[derive(FromRow)]
struct UserRow {
    id: i64,
    login: String,
    role: String,
    disabled: i64,
}

/// A user with the password hash, for signing in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A valid browser session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub login: Option<String>,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

async fn into_user(conn: &mut AnyConnection, row: UserRow) -> StoreResult<User> {
    let actor_ids: Vec<i64> =
        sqlx::query_scalar("SELECT actor_id FROM memberships WHERE user_id = $1 ORDER BY actor_id")
            .bind(row.id)
            .fetch_all(&mut *conn)
            .await?;
    let corrupt = || StoreError::Corrupt(format!("user {}", row.id));
    Ok(User {
        id: row.id,
        login: Login::parse(&row.login).map_err(|_| corrupt())?,
        role: Role::parse(&row.role).ok_or_else(corrupt)?,
        disabled: row.disabled != 0,
        actor_ids,
    })
}

impl Store {
    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let mut conn = self.pool.acquire().await?;
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, login, role, disabled FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        match row {
            Some(row) => Ok(Some(into_user(&mut conn, row).await?)),
            None => Ok(None),
        }
    }

    pub async fn credentials(&self, login: &Login) -> StoreResult<Option<Credentials>> {
        let mut conn = self.pool.acquire().await?;
        let row: Option<(i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, login, role, disabled, password_hash FROM users WHERE login = $1",
        )
        .bind(login.as_str().to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        let Some((id, login, role, disabled, password_hash)) = row else {
            return Ok(None);
        };
        let user = into_user(
            &mut conn,
            UserRow {
                id,
                login,
                role,
                disabled,
            },
        )
        .await?;
        Ok(Some(Credentials {
            user,
            password_hash,
        }))
    }

    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<UserRow> =
            sqlx::query_as("SELECT id, login, role, disabled FROM users ORDER BY login")
                .fetch_all(&mut *conn)
                .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            users.push(into_user(&mut conn, row).await?);
        }
        Ok(users)
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        let count = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// The user an API token belongs to, recording its use; None for unknown tokens.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<User>> {
        let user_id: Option<i64> = sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 RETURNING user_id",
        )
        .bind(now_millis())
        .bind(token_hash.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        match user_id {
            Some(id) => self.user_by_id(id).await,
            None => Ok(None),
        }
    }

    /// The session a cookie names, if it has not expired.
    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash.to_owned())
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        let Some((user_id, csrf_token, expires_at)) = row else {
            return Ok(None);
        };
        let Some(user) = self.user_by_id(user_id).await? else {
            return Ok(None);
        };
        Ok(Some(Session {
            user,
            csrf_token,
            expires_at: DateTime::from_timestamp_millis(expires_at).unwrap_or_default(),
        }))
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_owned())
        .bind(user_id)
        .bind(csrf_token.to_owned())
        .bind(now_millis())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a user (after a password change, say).
    pub async fn delete_sessions_of(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn prune_sessions(&self) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// Records who did what.
    pub async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_log (user_id, action, subject, detail, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(user_id)
            .bind(action.to_owned())
            .bind(subject.to_owned())
            .bind(detail.to_owned())
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest audit entries.
    pub async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<(Option<String>, String, String, String, i64)> = sqlx::query_as(
            "SELECT u.login, a.action, a.subject, a.detail, a.created_at FROM audit_log a \
             LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(login, action, subject, detail, at)| AuditEntry {
                login,
                action,
                subject,
                detail,
                at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
            })
            .collect())
    }

    /// Stores the hash of a new setup link, replacing any earlier one.
    pub async fn replace_setup_token(&self, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&mut *tx.inner)
            .await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
            .bind(token_hash.to_owned())
            .bind(now_millis())
            .execute(&mut *tx.inner)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a setup link is valid (without using it up).
    pub async fn setup_token_valid(&self, token_hash: &str) -> StoreResult<bool> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1")
                .bind(token_hash.to_owned())
                .fetch_one(&self.pool)
                .await?;
        Ok(count > 0)
    }
}

impl Tx {
    /// Creates a user working for the given accounts.
    pub async fn insert_user(
        &mut self,
        login: &Login,
        password_hash: &str,
        role: Role,
        actor_ids: &[i64],
    ) -> StoreResult<i64> {
        let now = now_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (login, password_hash, role, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(login.as_str().to_owned())
        .bind(password_hash.to_owned())
        .bind(role.as_str())
        .bind(flag(false))
        .bind(now)
        .fetch_one(&mut *self.inner)
        .await?;
        for actor_id in actor_ids {
            sqlx::query("INSERT INTO memberships (user_id, actor_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*actor_id)
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(id)
    }

    pub async fn set_password(&mut self, user_id: i64, password_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash.to_owned())
            .bind(now_millis())
            .bind(user_id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    pub async fn insert_api_token(
        &mut self,
        user_id: i64,
        label: &str,
        token_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (user_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(label.to_owned())
            .bind(token_hash.to_owned())
            .bind(now_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Uses up the setup link: true once, for the first caller.
    pub async fn consume_setup_token(&mut self, token_hash: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&mut *self.inner)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
