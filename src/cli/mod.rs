//! The command line: one file per subcommand group. Results go to stdout, errors to stderr
//! with a non-zero exit status.

pub mod actor;
pub mod backup;
pub mod block;
pub mod boost;
pub mod delivery;
pub mod export;
pub mod follow;
pub mod follower;
pub mod import;
pub mod post;
pub mod report;
pub mod serve;
pub mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "broadside",
    version,
    about = "Publish an organization's statements and news to the fediverse"
)]
pub struct Cli {
    /// Settings file (default: broadside.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Public origin, e.g. https://example.org [env: BROADSIDE_BASE_URL]
    #[arg(long, global = true)]
    pub base_url: Option<String>,
    /// Address and port to bind [env: BROADSIDE_LISTEN]
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// sqlite://FILE or postgres://… [env: BROADSIDE_DATABASE_URL]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Folder for uploaded media and other files [env: BROADSIDE_DATA_DIR]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Allow fetching from and delivering to private addresses (local testing only)
    /// [env: BROADSIDE_ALLOW_PRIVATE_NETWORKS]
    #[arg(long, global = true)]
    pub allow_private_networks: bool,
    /// PEM file of extra root certificates for outgoing HTTPS [env: BROADSIDE_EXTRA_CA_FILE]
    #[arg(long, global = true, value_name = "FILE")]
    pub extra_ca_file: Option<PathBuf>,
    /// Log filter, e.g. info or broadside=debug [env: BROADSIDE_LOG]
    #[arg(long, global = true)]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve HTTP and run the delivery worker.
    Serve(serve::ServeArgs),
    /// Bring the database schema up to date.
    Migrate,
    /// Organization accounts.
    #[command(subcommand)]
    Actor(actor::ActorCommand),
    /// Followers of an account: list, approve or reject.
    #[command(subcommand)]
    Follower(follower::FollowerCommand),
    /// Follow an allied organization (@name@host or actor URL); pending until it accepts.
    Follow {
        #[arg(long)]
        actor: String,
        target: String,
        /// Boost its public top-level posts automatically: `all`, or a hashtag (repeatable).
        #[arg(long, value_name = "all|TAG")]
        boost: Vec<String>,
    },
    /// Share a post (ours or anyone's, by URL) with an account's followers.
    Boost {
        #[arg(long)]
        actor: String,
        post: String,
    },
    /// Take a boost back.
    Unboost {
        #[arg(long)]
        actor: String,
        post: String,
    },
    /// Members of a group account (the International), whose public posts it boosts.
    #[command(subcommand)]
    Group(boost::GroupCommand),
    /// Replies held for approval, and mentions of our accounts.
    #[command(subcommand)]
    Reply(boost::ReplyCommand),
    /// Stop following an account.
    Unfollow {
        #[arg(long)]
        actor: String,
        target: String,
    },
    /// The newest posts of the accounts ours follow (with --actor, of those that account
    /// follows); --allies-page on|off shows or hides the account's public allies page.
    Network {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, value_name = "on|off", requires = "actor")]
        allies_page: Option<String>,
    },
    /// The organization's people: create, list, reset a password.
    #[command(subcommand)]
    User(user::UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The delivery queue: status, retry now.
    #[command(subcommand)]
    Delivery(delivery::DeliveryCommand),
    /// Statements and news: publish, edit, delete, list, pin.
    #[command(subcommand)]
    Post(post::PostCommand),
    /// Block a domain or an actor, list blocks, import a blocklist.
    #[command(subcommand)]
    Block(block::BlockCommand),
    /// Lift a block.
    #[command(subcommand)]
    Unblock(block::UnblockCommand),
    /// Reports (Flag) received from other servers.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Import posts from an RSS or Atom feed or a WordPress export; bridge a feed.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Copy the SQLite database, consistently, while the server runs (PostgreSQL: pg_dump).
    Backup {
        /// The backup file to write; it must not exist yet.
        file: PathBuf,
    },
    /// Write every post as Markdown with front matter, its ActivityStreams JSON and images.
    Export {
        /// The folder to write into (created if missing; a previous export there is updated).
        dir: PathBuf,
    },
}

impl Cli {
    /// Loads the configuration with this command line's flags as the top layer.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let overrides = Overrides {
            base_url: self.base_url.clone(),
            listen: self.listen.clone(),
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            allow_private_networks: self.allow_private_networks.then_some(true),
            extra_ca_file: self.extra_ca_file.clone(),
            log: self.log.clone(),
        };
        Config::load(self.config.as_deref(), overrides)
    }
}

/// A command's failure, printed as one line on stderr.
pub type CliResult = Result<(), anyhow::Error>;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is printed once and stored only as a hash.
    Create {
        login: String,
        #[arg(long)]
        label: Option<String>,
    },
}
