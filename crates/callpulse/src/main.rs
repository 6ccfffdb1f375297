//! The `callpulse` command. Everything it does lives in the library; see `callpulse --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = callpulse::cli::Cli::parse();
    callpulse::logging::init(cli.log_format);
    match callpulse::main_with(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "callpulse failed");
            std::process::ExitCode::FAILURE
        }
    }
}
