//! Entry point of the `gatehouse` binary: parse, run on a tokio runtime, report one error line.

use std::process::ExitCode;

use clap::Parser;
use gatehouse::Cli;

/// A request allocates and frees many small buffers; mimalloc's per-thread free lists make that
/// markedly cheaper than glibc's allocator (see `bench/RESULTS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with code 2.
    let cli = Cli::parse();
    let runtime = match gatehouse_server::runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gatehouse::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): nothing useful to say.
        Err(err) if gatehouse::is_broken_pipe(&err) => ExitCode::FAILURE,
        Err(err) => {
            // One line, whatever the causes' messages contain.
            let message = format!("{err:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {message}");
            ExitCode::from(gatehouse::exit_code(&err))
        }
    }
}
