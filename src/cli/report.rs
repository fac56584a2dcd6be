//! `broadside report list`: reports (Flag) other servers sent about our accounts and posts.

use clap::Subcommand;

use super::{CliResult, block::one_line};
use crate::{app, config::Config};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Newest first, one per line: date, reporter, reported ids (space-separated), reason.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

pub async fn run(config: Config, command: ReportCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    match command {
        ReportCommand::List { limit } => {
            for report in store.reports(limit, 0).await? {
                let objects: Vec<&str> = report.objects.iter().map(|o| o.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    report.received_at.format("%Y-%m-%d %H:%M"),
                    report.reporter,
                    objects.join(" "),
                    one_line(&report.content)
                );
            }
        }
    }
    store.close().await;
    Ok(())
}
