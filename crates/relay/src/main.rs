//! `switchboard-relay`: run the server, or manage the store without it.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use switchboard_protocol::api::PhoneNumber;
use switchboard_relay::config::{Config, Purpose};
use switchboard_relay::{auth, open_store, store::queries};

#[derive(Parser)]
#[command(
    name = "switchboard-relay",
    version,
    about = "Switchboard relay: WhatsApp Cloud API webhooks, store, event log and sending"
)]
struct Cli {
    /// TOML configuration file; environment variables override it.
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the relay server.
    Serve,
    /// Manage the store without the server running.
    #[command(subcommand)]
    Admin(Admin),
    /// Print the OpenAPI document (as served at /api/v1/openapi.json) without starting.
    Openapi,
}

#[derive(Subcommand)]
enum Admin {
    /// Create a user; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// A role's name: agent, supervisor, admin, or one an admin defined.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Add a business phone number, or adopt one that appeared unconfigured.
    AddNumber {
        #[arg(long)]
        phone_number_id: String,
        #[arg(long)]
        display_phone_number: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        waba_id: Option<String>,
    },
    /// List business numbers, configured and unconfigured.
    ListNumbers {
        #[arg(long)]
        json: bool,
    },
    /// List users.
    ListUsers,
    /// Check that no audit log entry was altered or removed (the hash chain holds); exits
    /// non-zero naming the first entry that does not. Works while relays run.
    VerifyAudit,
    /// Take a consistent backup of the database and the media archive into FILE (a tar) while
    /// the relay serves. Embedded SQLite only; on PostgreSQL use its own tools (README).
    Backup { file: PathBuf },
    /// Restore a backup into the configured data directory, which must be empty.
    Restore { file: PathBuf },
    /// Export everything (or one customer) as JSON Lines into FILE, which must not exist.
    /// Works while relays run; audited.
    Export {
        file: PathBuf,
        /// Only this customer (their record, conversations, messages and notes).
        #[arg(long)]
        contact: Option<i64>,
    },
    /// Show webhook bodies that could not be parsed.
    DeadLetters {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let config = Config::load(cli.config.as_deref(), Purpose::Serve)?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot listen on {} (SWITCHBOARD_LISTEN): {e}",
                        config.listen
                    )
                })?;
            eprintln!(
                "switchboard-relay listening on http://{}",
                listener.local_addr()?
            );
            switchboard_relay::serve(config, listener, shutdown_signal()).await?;
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&switchboard_relay::api::openapi_document())?
            );
            Ok(())
        }
        Command::Admin(Admin::Backup { file }) => {
            let config = Config::load(cli.config.as_deref(), Purpose::Admin)?;
            let m = switchboard_relay::backup::backup(&config, &file)?;
            println!(
                "backup written to {}: schema {}, {} media files ({} bytes)",
                file.display(),
                m.schema_version,
                m.media_files,
                m.media_bytes
            );
            Ok(())
        }
        Command::Admin(Admin::Restore { file }) => {
            let config = Config::load(cli.config.as_deref(), Purpose::Admin)?;
            let m = switchboard_relay::backup::restore(&config, &file)?;
            println!(
                "restored into {}: schema {}, {} media files; start the relay to migrate and serve it",
                config.data_dir.display(),
                m.schema_version,
                m.media_files
            );
            Ok(())
        }
        Command::Admin(cmd) => {
            let config = Config::load(cli.config.as_deref(), Purpose::Admin)?;
            let store = open_store(&config)?;
            let result = admin(&store, cmd, config.password_min_length).await;
            store.close();
            result
        }
    }
}

async fn admin(
    store: &switchboard_relay::store::Store,
    cmd: Admin,
    password_min_length: usize,
) -> anyhow::Result<()> {
    match cmd {
        Admin::CreateUser {
            email,
            name,
            role,
            password_stdin: _,
        } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            auth::validate_new_password(&password, password_min_length, &email)
                .map_err(anyhow::Error::msg)?;
            if !email.contains('@') {
                anyhow::bail!("--email {email:?} is not an email address");
            }
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            let user = store
                .write(move |ctx| {
                    let u = queries::create_user(ctx.conn, &email, &name, &role, &hash, ctx.now)?;
                    queries::audit(
                        ctx.conn,
                        "cli",
                        "user.create",
                        &json!({"user_id": u.id, "email": u.email, "role": u.role}),
                        ctx.now,
                    )?;
                    Ok(u)
                })
                .await?;
            println!(
                "created {} user {} <{}> with id {}",
                user.role, user.name, user.email, user.id
            );
        }
        Admin::AddNumber {
            phone_number_id,
            display_phone_number,
            name,
            waba_id,
        } => {
            if phone_number_id.is_empty() || !phone_number_id.chars().all(|c| c.is_ascii_digit()) {
                anyhow::bail!("--phone-number-id must be Meta's numeric phone number id");
            }
            let pn = PhoneNumber {
                phone_number_id,
                display_phone_number,
                name,
                configured: true,
            };
            let shown = pn.clone();
            store
                .write(move |ctx| {
                    // Releases the conversations held while the number was unconfigured.
                    switchboard_relay::store::numbers::add_number(ctx, &pn, waba_id.as_deref())?;
                    queries::audit(
                        ctx.conn,
                        "cli",
                        "number.add",
                        &serde_json::to_value(&pn)?,
                        ctx.now,
                    )
                })
                .await?;
            println!(
                "number {} ({}) \"{}\" is configured",
                shown.phone_number_id, shown.display_phone_number, shown.name
            );
        }
        Admin::ListNumbers { json } => {
            let numbers = store.read(queries::numbers).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&numbers)?);
            } else if numbers.is_empty() {
                println!("no numbers yet: add one with `switchboard-relay admin add-number`");
            } else {
                for n in numbers {
                    let state = if n.configured {
                        "configured"
                    } else {
                        "UNCONFIGURED (seen in webhooks; adopt with add-number)"
                    };
                    println!(
                        "{}\t{}\t{}\t{}",
                        n.phone_number_id, n.display_phone_number, n.name, state
                    );
                }
            }
        }
        Admin::ListUsers => {
            for u in store.read(queries::users).await? {
                println!("{}\t{}\t{}\t{}", u.id, u.role, u.email, u.name);
            }
        }
        Admin::VerifyAudit => {
            let checked = store.read(switchboard_relay::store::audit::verify).await?;
            match checked {
                Ok(v) => println!(
                    "audit log intact: {} entries, head {}",
                    v.entries,
                    if v.head.is_empty() {
                        "(empty)"
                    } else {
                        &v.head
                    }
                ),
                Err(broken) => anyhow::bail!("audit log broken: {broken}"),
            }
        }
        Admin::Export { file, contact } => {
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", file.display()))?;
            let scope = match contact {
                Some(c) => switchboard_relay::store::export::Scope::Contact(c),
                None => switchboard_relay::store::export::Scope::All {
                    from: None,
                    to: None,
                },
            };
            let details = json!({ "contact_id": contact, "format": "jsonl" });
            store
                .write(move |ctx| queries::audit(ctx.conn, "cli", "export", &details, ctx.now))
                .await?;
            let mut cursor = switchboard_relay::store::export::ExportCursor::default();
            let mut lines = 0u64;
            while !cursor.done() {
                let scope = scope.clone();
                let mut cur = cursor.clone();
                let (page, cur) = store
                    .read(move |c| {
                        let l =
                            switchboard_relay::store::export::next_lines(c, &scope, &mut cur, 500)?;
                        Ok((l, cur))
                    })
                    .await?;
                cursor = cur;
                for l in page {
                    writeln!(out, "{l}")?;
                    lines += 1;
                }
            }
            out.sync_all()?;
            println!("exported {lines} lines to {}", file.display());
        }
        Admin::Backup { .. } | Admin::Restore { .. } => {
            unreachable!("backup and restore run without opening the store")
        }
        Admin::DeadLetters { limit } => {
            let dead = store.read(move |c| queries::dead_letters(c, limit)).await?;
            if dead.is_empty() {
                println!("no dead letters");
            }
            for d in dead {
                println!(
                    "#{} at {}: {}\n{}\n",
                    d.id,
                    d.received_at,
                    d.error,
                    d.body.chars().take(500).collect::<String>()
                );
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
