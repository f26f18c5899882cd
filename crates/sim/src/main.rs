//! `switchboard-sim serve ...`: runs the simulator as a process (for the demo, benchmarks and
//! out-of-process tests), optionally with a generator of customer messages.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use switchboard_sim::scenario::{Generator, GeneratorConfig};
use switchboard_sim::{SimConfig, SimNumber, Simulator, WebhookFormat};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-sim",
    version,
    about = "A local stand-in for Meta's WhatsApp Cloud API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Graph API, the control API and send webhooks.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, env = "SIM_LISTEN")]
    listen: SocketAddr,
    /// The relay's webhook callback URL.
    #[arg(long, env = "SIM_WEBHOOK_URL")]
    webhook_url: String,
    /// The Meta app secret used to sign webhooks.
    #[arg(long, env = "SIM_APP_SECRET")]
    app_secret: String,
    /// The bearer token the Graph API accepts.
    #[arg(long, env = "SIM_ACCESS_TOKEN", default_value = "sim-access-token")]
    access_token: String,
    /// A business phone number id (repeatable; pairs with --display-phone-number).
    #[arg(long = "phone-number-id")]
    phone_number_ids: Vec<String>,
    /// Display number (digits) of the matching --phone-number-id.
    #[arg(long = "display-phone-number")]
    display_phone_numbers: Vec<String>,
    /// The WABA id all numbers belong to.
    #[arg(long, default_value = "100000000000001")]
    waba_id: String,
    /// Generate this many customer messages per second until stopped.
    #[arg(long)]
    generate_rate: Option<f64>,
    /// How many simulated customers the generator uses.
    #[arg(long, default_value_t = 50)]
    generate_customers: u32,
    /// Customers have read receipts off: no `read` statuses.
    #[arg(long)]
    no_read_receipts: bool,
    /// After a send, when the `sent` status webhook goes out (ms; default 30).
    #[arg(long)]
    sent_delay_ms: Option<u64>,
    /// After a send, when the `delivered` status webhook goes out (ms; default 60).
    #[arg(long)]
    delivered_delay_ms: Option<u64>,
    /// After a send, when the `read` status webhook goes out (ms; default 120).
    #[arg(long)]
    read_delay_ms: Option<u64>,
    /// Speak Meta's webhook format from before April 2026 (no BSUIDs unless a customer was
    /// given one) instead of the 2026 format.
    #[arg(long)]
    legacy_webhooks: bool,
}

fn config(args: &ServeArgs) -> Result<SimConfig, String> {
    if args.phone_number_ids.len() != args.display_phone_numbers.len() {
        return Err(format!(
            "--phone-number-id given {} times but --display-phone-number {} times; give them in pairs",
            args.phone_number_ids.len(),
            args.display_phone_numbers.len()
        ));
    }
    let mut config = SimConfig::new(args.webhook_url.clone(), args.app_secret.clone());
    config.access_token = args.access_token.clone();
    if args.legacy_webhooks {
        config.format = WebhookFormat::Legacy;
    }
    if !args.phone_number_ids.is_empty() {
        config.phone_numbers = args
            .phone_number_ids
            .iter()
            .zip(&args.display_phone_numbers)
            .map(|(id, display)| SimNumber::new(id.clone(), display.clone(), args.waba_id.clone()))
            .collect();
    } else {
        config.phone_numbers[0].waba_id = args.waba_id.clone();
    }
    let ms = std::time::Duration::from_millis;
    if let Some(d) = args.sent_delay_ms {
        config.status_delays.sent = ms(d);
    }
    if let Some(d) = args.delivered_delay_ms {
        config.status_delays.delivered = ms(d);
    }
    if let Some(d) = args.read_delay_ms {
        config.status_delays.read = Some(ms(d));
    }
    if args.no_read_receipts {
        config.status_delays.read = None;
    }
    Ok(config)
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = config(&args)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let sim = Simulator::start(config, listener)
        .await
        .map_err(|e| e.to_string())?;
    println!("switchboard-sim listening on {}", sim.local_addr());
    tracing::info!(base_url = %sim.base_url(), webhook_url = %args.webhook_url, "serving");
    let generator = args.generate_rate.filter(|r| *r > 0.0).map(|rate| {
        tracing::info!(
            rate,
            customers = args.generate_customers,
            "generator running"
        );
        Generator::spawn(
            &sim,
            GeneratorConfig {
                rate_per_sec: rate,
                customers: args.generate_customers,
                ..GeneratorConfig::default()
            },
        )
    });
    stop_signal().await;
    if let Some(g) = generator {
        tracing::info!(messages = g.messages_sent(), "generator stopped");
        g.stop();
    }
    tracing::info!(stats = ?sim.stats(), "shutting down");
    sim.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    if let Err(e) = serve(args).await {
        eprintln!("switchboard-sim: {e}");
        std::process::exit(2);
    }
}
