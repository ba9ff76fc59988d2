//! The command line: the daemon (`serve`), operations on its database (`migrate`, `token`),
//! and configuration checks. Errors end in one readable line on stderr and a non-zero exit.

mod client;
mod event;
mod failure;
mod follow;
mod health;
mod invalidate;
mod job;
mod purge;
mod respond;
mod token;
mod user;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use self::failure::{Failure, fail, invalid};
use self::failure::{report, usage_error, with_runtime, with_runtime_json};
use crate::config::{self, Settings};
use crate::startup::{Application, shutdown_signal};
use crate::store::Store;
use crate::telemetry::{self, LogFormat};

/// Exit codes. Pipelines branch on these, so they are part of the interface.
pub mod exit {
    /// Something failed.
    pub const FAILURE: u8 = 1;
    /// The input (configuration, arguments) is invalid.
    pub const INVALID_INPUT: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "cachewarden",
    version,
    about = "Watches cache health across an AWS stack and invalidates caches safely."
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// Configuration file (TOML). Without one, the embedded defaults apply: SQLite in the
    /// working directory, listening on 127.0.0.1:8080.
    #[arg(long, short, env = "CACHEWARDEN_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CreateArg {
    /// Create the SQLite database if it does not exist. Without it, a command refuses to work
    /// on a new, empty database: that is almost always a missing or wrong --config.
    #[arg(long, global = true)]
    create: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Listen on this address instead of the configured one (port 0: any free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        create: CreateArg,
    },
    /// Compact closed windows of samples into chunks now and exit. The daemon does this in
    /// its maintenance every five minutes; after an upgrade this reclaims the space at once.
    Compact {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Check a configuration file and list every error in it (exit 2 if there are any).
    #[command(after_help = config::kinds_help())]
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Print a commented example configuration.
    #[command(after_help = config::kinds_help())]
    PrintDefaultConfig,
    /// Exit 0 if a running daemon is alive (or, with --ready, ready), 1 if not: for container
    /// health checks.
    Health(health::HealthArgs),
    /// Print the shell completion script for SHELL (e.g. `cachewarden completions bash >
    /// /etc/bash_completion.d/cachewarden`).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory:
    /// `cachewarden man --dir /usr/local/share/man/man1`.
    Man {
        /// Write cachewarden.1 and a page per command (cachewarden-invalidate.1, …) here.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Invalidate CloudFront paths or cache tags through a running daemon (for pipelines).
    /// Exit codes: 0 completed (or queued, without --wait), 1 failed, 2 invalid input,
    /// 3 timed out, 4 not authorised, 5 the daemon cannot take it now (retry later).
    Invalidate(invalidate::InvalidateArgs),
    /// Purge Redis keys, patterns or tags through a running daemon. Exit codes as invalidate.
    Purge(purge::PurgeArgs),
    /// Submit a domain event (e.g. product.updated id=42) for the daemon's rules to purge,
    /// invalidate and broadcast. Exit codes as invalidate.
    Event(event::EventArgs),
    /// List alarms, acknowledge them (through a running daemon; exit codes as invalidate).
    Alarm(respond::AlarmArgs),
    /// Create, list and end silences (through a running daemon; exit codes as invalidate).
    Silence(respond::SilenceArgs),
    /// Show, wait for, cancel or list jobs of any kind (invalidations, purges, events) through
    /// a running daemon. Exit codes as invalidate; `wait` exits as the job ended.
    Job(job::JobArgs),
    /// Manage API tokens directly in the database (for the first admin token, and recovery).
    Token {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        create: CreateArg,
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Manage the people who sign in to the dashboard, directly in the database.
    User {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        create: CreateArg,
        #[command(subcommand)]
        command: user::UserCommand,
    },
}

/// The command-line definition (for completions, man pages and tests).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
}

/// Parses arguments, runs the command, and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let quiet = !matches!(cli.command, Command::Serve { .. });
    telemetry::init(
        cli.log_format,
        if quiet {
            "warn"
        } else {
            // actix-http logs a client's malformed bytes (TLS sent to a plain HTTP port, a
            // broken header) as ERROR: the client's fault, never ours, so not in our log.
            "info,sqlx=warn,actix_server=warn,tokio_cron_scheduler=warn,actix_http::h1::dispatcher=off"
        },
    );
    match cli.command {
        Command::PrintDefaultConfig => {
            print!("{}", config::example_config());
            ExitCode::SUCCESS
        }
        Command::CheckConfig { file } => check_config(&file),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "cachewarden", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { dir } => {
            let written = match &dir {
                Some(d) => clap_mangen::generate_to(command(), d),
                None => clap_mangen::Man::new(command()).render(&mut std::io::stdout()),
            };
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => report(fail(format!("cannot write the man page: {e}"))),
            }
        }
        Command::Serve { config, listen } => with_runtime(async move {
            let mut settings = load(&config)?;
            if let Some(addr) = listen {
                settings.server.listen = addr;
            }
            let app = Application::build(settings)
                .await
                .map_err(fail)?
                .reading_config_from(crate::reload::Source {
                    file: config.config.clone(),
                    listen,
                });
            app.run_until_stopped(shutdown_signal()).await.map_err(fail)
        }),
        Command::Migrate { config, create } => with_runtime(async move {
            let settings = load(&config)?;
            let store = open_store(&settings, create.create).await?;
            store.close().await;
            eprintln!("The database is up to date.");
            Ok(())
        }),
        Command::Compact { config } => with_runtime(async move {
            let settings = load(&config)?;
            let store = open_store(&settings, false).await?;
            let started = std::time::Instant::now();
            let say = |p: crate::store::Progress| {
                let name = match p.resolution {
                    crate::store::Resolution::Raw => "raw samples",
                    crate::store::Resolution::FiveMinutes => "5-minute rollups",
                    crate::store::Resolution::OneHour => "1-hour rollups",
                };
                eprintln!("{name}: {} of {} windows", p.windows, p.of);
            };
            let done = store
                .compact_with_progress(crate::store::now_ms(), &say)
                .await
                .map_err(|e| fail(format!("compaction stopped: {e}")));
            store.close().await;
            let done = done?;
            eprintln!(
                "Compacted {} windows ({} rows) in {:.1} s.",
                done.windows,
                done.rows,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }),
        Command::Health(args) => with_runtime(health::run(args)),
        Command::Invalidate(args) => with_runtime_json(args.client.json, invalidate::run(args)),
        Command::Purge(args) => with_runtime_json(args.client.json, purge::run(args)),
        Command::Event(args) => with_runtime_json(args.client.json, event::run(args)),
        Command::Alarm(args) => with_runtime_json(args.client.json, respond::alarm(args)),
        Command::Silence(args) => with_runtime_json(args.client.json, respond::silence(args)),
        Command::Job(args) => with_runtime_json(args.client.json, job::run(args)),
        Command::Token {
            config,
            create,
            command,
        } => with_runtime(async move {
            let settings = load(&config)?;
            let store = open_store(&settings, create.create).await?;
            let result = token::run(command, &settings, &store).await;
            store.close().await;
            result
        }),
        Command::User {
            config,
            create,
            command,
        } => with_runtime(async move {
            let settings = load(&config)?;
            let store = open_store(&settings, create.create).await?;
            let result = user::run(command, &settings, &store).await;
            store.close().await;
            result
        }),
    }
}

fn load(arg: &ConfigArg) -> Result<Settings, Failure> {
    config::load(arg.config.as_deref()).map_err(|errors| {
        // Every error, one per line: fixing a file one error per run wastes a deploy.
        let n = errors.len();
        let mut message = format!(
            "invalid configuration ({n} error{}):",
            if n == 1 { "" } else { "s" }
        );
        for e in errors.iter() {
            message.push_str(&format!("\n  {e}"));
        }
        invalid(message)
    })
}

/// Opens (and migrates) the configured database for a command run by hand. A SQLite file that
/// does not exist is refused unless `create`: the token would land in a database the daemon
/// never reads.
async fn open_store(settings: &Settings, create: bool) -> Result<Store, Failure> {
    use secrecy::ExposeSecret;
    if let Some(file) = settings.database.sqlite_file()
        && !create
        && !file.exists()
    {
        let shown = std::path::absolute(&file).unwrap_or(file);
        return Err(invalid(format!(
            "there is no database at {}: give --config with the daemon's configuration file (or --create to start a new, empty database there)",
            shown.display()
        )));
    }
    let store = Store::connect(&settings.database.url, settings.database.max_connections)
        .await
        .map_err(|e| {
            fail(format!(
                "cannot open the database {}: {e}",
                crate::store::redact(settings.database.url.expose_secret())
            ))
        })?;
    store
        .migrate()
        .await
        .map_err(|e| fail(format!("cannot migrate the database: {e}")))?;
    Ok(store)
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match config::load(Some(file)) {
        Ok(s) => {
            use crate::domain::text::count;
            println!(
                "{}: valid ({}, {}, {}, {}, {})",
                file.display(),
                count(s.targets.len(), "target", "targets"),
                count(s.notifiers.len(), "notifier", "notifiers"),
                count(s.alarms.len(), "alarm", "alarms"),
                count(
                    s.maintenance.len(),
                    "maintenance window",
                    "maintenance windows"
                ),
                count(s.rules.len(), "rule", "rules")
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors.iter() {
                eprintln!("{}: {e}", file.display());
            }
            eprintln!(
                "{} in {}",
                crate::domain::text::count(errors.len(), "error", "errors"),
                file.display()
            );
            ExitCode::from(exit::INVALID_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command and every flag says what it is for in `--help`.
    #[test]
    fn every_command_and_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() {
                missing.push(format!("{path} (the command)"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let cli = super::Cli::command();
        cli.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cli, "cachewarden", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }
}
