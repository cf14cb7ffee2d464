//! The `rubric` command line: serve the gRPC API, classify articles offline, check rule files.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
