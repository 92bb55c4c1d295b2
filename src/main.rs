//! `portico`: parse the command line, start logging, run.

#![forbid(unsafe_code)]

use clap::Parser;
use portico::cli::{self, Cli, Command};
use portico::config::{Config, LogFormat};

// mimalloc instead of glibc malloc: the request path allocates small
// buffers on one thread and frees them on another, where glibc's arenas
// spent a quarter of the server's CPU (perf, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing(config: &Config, serving: bool) {
    // Admin commands stay quiet unless something is wrong.
    let default = if serving {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTICO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args = Cli::parse();
    let config = cli::load_config(&args)?;
    init_tracing(&config, matches!(args.command, Command::Serve));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.runtime.effective_worker_threads())
        .enable_all()
        .build()?;
    runtime.block_on(cli::run(args, config, argv))
}
