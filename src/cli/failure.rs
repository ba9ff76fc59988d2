//! How a command ends when it fails: one readable line on stderr, the exit code a pipeline
//! branches on, and with `--json` the error object on stdout.

use std::process::ExitCode;

use super::client;
use super::exit;

/// A failure to report: one line on stderr, the exit code, and with `--json` an error object
/// on stdout.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
    /// The daemon's error object (`code`, `message`, `field`, `request_id`), when it answered
    /// with one; else one is made from the exit code and the message.
    pub(crate) error: Option<serde_json::Value>,
    /// The answer already went to stdout (a failed job's JSON): nothing more goes there.
    pub(crate) answered: bool,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            error: None,
            answered: false,
        }
    }

    /// The error object `--json` prints: the daemon's, or one in the same shape.
    fn json(&self) -> serde_json::Value {
        if let Some(e) = &self.error {
            return serde_json::json!({ "error": e });
        }
        let code = match self.code {
            client::exit::INVALID_INPUT => "invalid_input",
            client::exit::TIMED_OUT => "timed_out",
            client::exit::NOT_AUTHORISED => "not_authorised",
            client::exit::UNAVAILABLE => "unavailable",
            _ => "failed",
        };
        // Our own messages about an argument start with it: `--timeout: …`.
        let field = self
            .message
            .split_once(": ")
            .map(|(f, _)| f)
            .filter(|f| f.starts_with("--") && !f.contains(' '));
        let mut e = serde_json::json!({ "code": code, "message": self.message });
        if let Some(f) = field {
            e["field"] = f.into();
        }
        serde_json::json!({ "error": e })
    }
}

pub(crate) fn fail(e: impl std::fmt::Display) -> Failure {
    Failure::new(exit::FAILURE, format!("{e:#}"))
}

pub(crate) fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(exit::INVALID_INPUT, message)
}

pub(super) fn with_runtime(
    fut: impl std::future::Future<Output = Result<(), Failure>>,
) -> ExitCode {
    with_runtime_json(false, fut)
}

/// Runs a command that takes `--json`: with it, a failure also prints its error object on
/// stdout, where a pipeline reads the answer (exit codes unchanged).
pub(super) fn with_runtime_json(
    json: bool,
    fut: impl std::future::Future<Output = Result<(), Failure>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return report(fail(format!("cannot start the async runtime: {e}"))),
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if json && !f.answered {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&f.json()).unwrap_or_default()
                );
            }
            report(f)
        }
    }
}

pub(super) fn report(f: Failure) -> ExitCode {
    // Our own messages may span lines (one per bad item); what is inside them came partly
    // from the daemon, so each line is made printable.
    for (i, line) in f.message.split('\n').enumerate() {
        let line = crate::domain::text::printable(line);
        if i == 0 {
            eprintln!("cachewarden: {line}");
        } else {
            eprintln!("{line}");
        }
    }
    ExitCode::from(f.code)
}

/// Help and version go to stdout as clap writes them; a mistake in the arguments is one line
/// on stderr (a pipeline's log shows it whole) and exit 2, like any invalid input.
pub(super) fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let line: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .filter(|l| !l.starts_with("Usage:"))
        .collect();
    eprintln!("{} (see --help)", line.join(" "));
    ExitCode::from(client::exit::INVALID_INPUT)
}
