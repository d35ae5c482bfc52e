/// mimalloc instead of glibc's malloc: the class list spent a fifth of its samples in
/// malloc and free (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tsp_ledger::cli::main()
}
