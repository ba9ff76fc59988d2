//! Logging set-up. Log lines are sentences with structured fields; `RUST_LOG` overrides the
//! default filter, and `--log-format json` suits log shippers.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber, writing to stderr. Safe to call more than once (later calls
/// do nothing), which keeps tests that build several applications simple.
pub fn init(format: LogFormat, default_filter: &str) {
    let from_env = std::env::var("RUST_LOG").ok();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let filter = quiet_credentials(filter, from_env.as_deref().unwrap_or(default_filter));
    // Colour only for a person at a terminal: a log file or a journal would keep the escape
    // codes as noise. NO_COLOR (no-color.org) turns it off there too.
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The AWS SDK's modules that print credentials at debug level (an assumed role's access key
/// id; secrets themselves it redacts).
const CREDENTIAL_LOGGERS: [&str; 2] = ["aws_config", "aws_smithy_runtime"];

/// Holds the SDK's credential-printing modules at `info` under a general `debug` or `trace`,
/// so turning on debug logs does not put credentials in them. Naming a module in `RUST_LOG`
/// (`aws_config=debug`) is taken as meaning it.
fn quiet_credentials(mut filter: EnvFilter, spec: &str) -> EnvFilter {
    for module in CREDENTIAL_LOGGERS {
        if !spec.contains(module)
            && let Ok(d) = format!("{module}=info").parse()
        {
            filter = filter.add_directive(d);
        }
    }
    filter
}
