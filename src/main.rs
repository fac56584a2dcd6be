//! The `broadside` binary: parse the command line, load the configuration, run the command.

use std::process::ExitCode;

use broadside::cli::{self, Cli, Command, TokenCommand};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.load_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("broadside: {err}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => cli::serve::serve(config, args).await,
        Command::Migrate => cli::serve::migrate(config).await,
        Command::Actor(command) => cli::actor::run(config, command).await,
        Command::Follower(command) => cli::follower::run(config, command).await,
        Command::Post(command) => cli::post::run(config, command).await,
        Command::Delivery(command) => cli::delivery::run(config, command).await,
        Command::Block(command) => cli::block::block(config, command).await,
        Command::Unblock(command) => cli::block::unblock(config, command).await,
        Command::Report(command) => cli::report::run(config, command).await,
        Command::Import(command) => cli::import::run(config, command).await,
        Command::Backup { file } => cli::backup::run(config, &file).await,
        Command::Export { dir } => cli::export::run(config, &dir).await,
        Command::Follow {
            actor,
            target,
            boost,
        } => cli::follow::follow(config, &actor, &target, false, &boost).await,
        Command::Unfollow { actor, target } => {
            cli::follow::follow(config, &actor, &target, true, &[]).await
        }
        Command::Boost { actor, post } => cli::boost::boost(config, &actor, &post, false).await,
        Command::Unboost { actor, post } => cli::boost::boost(config, &actor, &post, true).await,
        Command::Group(command) => cli::boost::group(config, command).await,
        Command::Reply(command) => cli::boost::reply(config, command).await,
        Command::Network {
            limit,
            actor,
            allies_page,
        } => cli::follow::network(config, limit, actor.as_deref(), allies_page.as_deref()).await,
        Command::User(command) => cli::user::run(config, command).await,
        Command::Token(TokenCommand::Create { login, label }) => {
            cli::user::create_token(config, &login, label).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("broadside: {err:#}");
            ExitCode::FAILURE
        }
    }
}
