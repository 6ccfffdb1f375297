//! The `callpulse` command. Everything it does lives in the library; see `callpulse --help`.

use clap::Parser;

// The binary's last words go to the person who started it, on stderr.
#[allow(clippy::print_stderr)]
fn main() -> std::process::ExitCode {
    let cli = callpulse::cli::Cli::parse();
    callpulse::logging::init(cli.log_format);
    match callpulse::main_with(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "callpulse failed");
            // The log line is for collectors; a person at a terminal gets the chain as text,
            // multi-line messages (a TOML error with its line and caret) intact.
            eprintln!("\ncallpulse failed: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {}", cause.to_string().replace('\n', "\n    "));
            }
            std::process::ExitCode::FAILURE
        }
    }
}
