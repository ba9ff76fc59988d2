fn main() -> std::process::ExitCode {
    cachewarden::cli::run()
}
