//! `broadside delivery status | retry`: the durable delivery queue, for operators.

use clap::Subcommand;

use super::CliResult;
use crate::{app, config::Config};

#[derive(Debug, Subcommand)]
pub enum DeliveryCommand {
    /// How many deliveries are queued, delivered and failed.
    Status,
    /// Make queued deliveries due now (all, or to one host that is back).
    Retry {
        #[arg(long)]
        host: Option<String>,
    },
}

pub async fn run(config: Config, command: DeliveryCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    match command {
        DeliveryCommand::Status => {
            let counts = store.delivery_counts().await?;
            println!(
                "queued\t{}\ndelivered\t{}\nfailed\t{}",
                counts.queued, counts.delivered, counts.failed
            );
        }
        DeliveryCommand::Retry { host } => {
            let count = store.retry_deliveries_now(host.as_deref()).await?;
            println!("{count} deliveries are due now");
        }
    }
    store.close().await;
    Ok(())
}
