fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, so a client command writing into a closed pipe (`… | head`)
    // would panic on the failed write; like other command-line tools, end quietly instead.
    // The daemon keeps ignoring it: a client that hangs up must never stop it.
    if std::env::args().nth(1).as_deref() != Some("serve") {
        // SAFETY: restoring a signal's default disposition at start-up, before any thread.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    cachewarden::cli::run()
}
