fn main() -> std::process::ExitCode {
    tsp_ledger::cli::main()
}
