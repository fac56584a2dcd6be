//! Copies of a SQLite database taken while the server runs (`broadside backup`), and the
//! check that a copy is sound. PostgreSQL has `pg_dump` for this.

use std::{path::Path, str::FromStr};

use sqlx::{ConnectOptions, Connection, any::AnyConnectOptions};

use super::{Backend, Store, StoreError, StoreResult};

impl Store {
    /// Writes a consistent copy of the SQLite database to `path`, which must not exist.
    ///
    /// `VACUUM INTO` reads inside one transaction, so the copy is the database as of one
    /// moment, whatever is committed meanwhile; under WAL the server's writers go on beside
    /// it. The copy is compacted and has no `-wal` file: one file holds everything. SQLite
    /// does not sync the file it writes; the caller does before giving it its final name.
    pub async fn backup_sqlite_into(&self, path: &Path) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Corrupt(
                "VACUUM INTO is for SQLite; back PostgreSQL up with pg_dump".into(),
            ));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Opens the SQLite file at `path` read-only and runs `PRAGMA integrity_check`; returns its
/// verdict, `ok` for a sound database.
pub async fn sqlite_integrity_check(path: &Path) -> StoreResult<String> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = AnyConnectOptions::from_str(&url)?.connect().await?;
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(rows.join("; "))
}
