//! `sluice-server`: parse configuration, set up logging, serve until told
//! to stop.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use sluice::clock::Clock;
use sluice::config::Cli;
use sluice::server::{Server, REDIS_VERSION, SLUICE_VERSION};
use tracing::{error, info, warn};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{fmt, reload, EnvFilter};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        println!(
            "Sluice server v={SLUICE_VERSION} redis_version={REDIS_VERSION} bits={}",
            usize::BITS
        );
        return ExitCode::SUCCESS;
    }
    let (config, warnings) = match cli.into_config() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("sluice-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| config.loglevel.filter().to_string());
    let (filter, reload) = reload::Layer::new(EnvFilter::new(filter));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
        .init();
    sluice::config::on_loglevel_change(Box::new(move |level| {
        let _ = reload.modify(|f| *f = EnvFilter::new(level.filter()));
    }));
    for w in warnings {
        warn!("{w}");
    }
    if let Err(e) = std::fs::create_dir_all(&config.dir) {
        error!(
            "can't create the data directory {}: {e}",
            config.dir.display()
        );
        return ExitCode::FAILURE;
    }
    // One thread serves every client, as Redis's main thread does, unless
    // `io-threads` asks for more; the fsync thread and checkpoints have
    // threads of their own either way.
    let mut builder = if config.io_threads > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(config.io_threads);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!("can't start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::bind(config, Clock::system()).await {
            Ok(server) => server,
            Err(e) => {
                // The error says which step failed: listening or loading.
                error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let shared = server.shared();
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("received a stop signal");
            shared.request_shutdown();
        });
        match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            // Already logged: acknowledged writes may not be durable.
            Err(_) => ExitCode::FAILURE,
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
