//! `broadside backup FILE`: a consistent copy of the SQLite database, taken while the server
//! runs. PostgreSQL is backed up with `pg_dump` (docs/OPERATIONS.md).
//!
//! The copy is written under a temporary name beside FILE, synced, checked with
//! `PRAGMA integrity_check`, and only then given its name, so a file called FILE is always a
//! whole, sound backup. An existing FILE is never overwritten.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};

use super::CliResult;
use crate::{
    app,
    config::{Config, DatabaseUrl},
    store::backup::sqlite_integrity_check,
};

/// What `broadside backup` prints for PostgreSQL, where it does nothing itself.
pub const POSTGRES_ADVICE: &str = "`broadside backup` copies SQLite databases; this instance \
    uses PostgreSQL, which is backed up with pg_dump, e.g. \
    `pg_dump --format=custom --file=broadside.dump DATABASE` (see docs/OPERATIONS.md)";

pub async fn run(config: Config, file: &Path) -> CliResult {
    let size = backup(&config, file).await?;
    println!("backed up to {} ({size} bytes)", file.display());
    println!(
        "uploaded media are not in the database: copy {} as well",
        config.data_dir.join("media").display()
    );
    Ok(())
}

/// Writes the backup to `file` and returns its size in bytes.
pub async fn backup(config: &Config, file: &Path) -> anyhow::Result<u64> {
    if matches!(config.database, DatabaseUrl::Postgres(_)) {
        bail!(POSTGRES_ADVICE);
    }
    if fs::symlink_metadata(file).is_ok() {
        bail!(
            "{} already exists; a backup never overwrites a file: choose a new name",
            file.display()
        );
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} does not name a file", file.display()))?;
    let dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!("the folder {} does not exist", dir.display());
    }
    let partial = dir.join(format!(".{name}.partial-{:016x}", rand::random::<u64>()));
    let result = write_checked(config, &partial).await;
    let result = match result {
        Ok(()) => publish(&partial, file, &dir),
        Err(err) => Err(err),
    };
    if result.is_err() {
        // A half-written or unsound copy is worth nothing; it may not exist at all.
        let _ = fs::remove_file(&partial);
    }
    result?;
    Ok(fs::metadata(file)?.len())
}

/// The database copied to `partial`, on disk, and found sound.
async fn write_checked(config: &Config, partial: &Path) -> anyhow::Result<()> {
    let store = app::open_store(config).await?;
    let copied = store.backup_sqlite_into(partial).await;
    store.close().await;
    copied.context("could not copy the database")?;
    // SQLite does not sync the file VACUUM INTO writes.
    fs::File::open(partial)?.sync_all()?;
    let verdict = sqlite_integrity_check(partial).await?;
    if verdict != "ok" {
        bail!("the copy failed its integrity check: {verdict}");
    }
    Ok(())
}

/// Gives the finished copy its name without replacing a file that appeared meanwhile: a hard
/// link fails if the name is taken, where a rename would silently replace it.
fn publish(partial: &Path, file: &Path, dir: &Path) -> anyhow::Result<()> {
    match fs::hard_link(partial, file) {
        Ok(()) => fs::remove_file(partial)?,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            bail!(
                "{} was created while the backup ran; it was left alone",
                file.display()
            )
        }
        // A file system without hard links: checked above, so a rename is the fallback.
        Err(_) => fs::rename(partial, file)?,
    }
    // The new name is durable once the folder is synced.
    if let Ok(folder) = fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}
