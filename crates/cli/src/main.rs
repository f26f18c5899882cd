//! `switchboard`: the command-line client. Every command works from the local cache; commands
//! that can reach the relay first catch up and flush the outbox, so a message queued offline
//! goes out with the next command that gets through. Text from customers and the relay goes
//! through [`safe::terminal_safe`] before it reaches a terminal; `--json` output is exact.

mod admin;
mod safe;
mod settings;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use switchboard_protocol::api::{Direction, SendRequest};
use switchboard_sync::{
    Cache, ConnectionState, ConversationFilter, Engine, RelayClient, SyncError, TimelineItem, View,
};

use safe::terminal_safe;
use settings::{Home, Settings};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard team inbox on the command line"
)]
struct Cli {
    /// Where the cache and settings live (default: the OS data directory).
    #[arg(long, global = true, env = "SWITCHBOARD_HOME")]
    data_dir: Option<PathBuf>,
    /// Machine-readable output (JSON).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ViewArg {
    Mine,
    Unassigned,
    All,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in to a relay (the token goes to the OS keychain).
    Login {
        #[arg(long)]
        relay: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sign out; `--wipe` also deletes the local cache.
    Logout {
        #[arg(long)]
        wipe: bool,
    },
    /// The conversation list.
    Inbox {
        #[arg(long, value_enum, default_value = "all")]
        view: ViewArg,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        number: Option<String>,
        /// Only customers carrying this tag.
        #[arg(long)]
        tag: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// A conversation's messages.
    Show {
        conversation: i64,
        #[arg(long, default_value_t = 30)]
        limit: usize,
    },
    /// Send a text message (queued locally when the relay is unreachable).
    Send { conversation: i64, text: String },
    /// Follow live events until Ctrl-C.
    Tail,
    /// Search messages, names and numbers in the local cache.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Connection state, cursor and outbox size.
    Status,
    /// Catch up and flush the outbox, then exit.
    Sync,
    /// Admin tasks against the relay, as the signed-in user (users, numbers, the audit log).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors carry the relay's (and Meta's) words, and through them customer text.
            eprintln!("switchboard: {}", terminal_safe(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn print_json(v: &impl serde::Serialize) -> AnyResult<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn run(cli: Cli) -> AnyResult<()> {
    let home = Home::new(cli.data_dir.clone())?;
    match cli.command {
        Command::Login {
            relay,
            email,
            password_stdin,
        } => login(&home, &relay, &email, password_stdin, cli.json).await,
        Command::Logout { wipe } => {
            let settings = home.settings()?.ok_or(SyncError::NotSignedIn)?;
            let secrets = home.secrets();
            if let Some(token) = secrets.get(&settings.account())? {
                let _ = RelayClient::new(&settings.relay_url, Some(token))?
                    .logout()
                    .await;
            }
            secrets.delete(&settings.account())?;
            if wipe {
                let cache = Cache::open(&home.cache_path(&settings))?;
                cache.wipe()?;
            }
            home.clear_settings()?;
            println!(
                "signed out{}",
                if wipe { "; local cache wiped" } else { "" }
            );
            Ok(())
        }
        Command::Search { query, limit } => {
            let (engine, _) = open(&home).await?;
            let hits = engine.cache().search(&query, limit)?;
            if cli.json {
                let plain: Vec<_> = hits.iter().map(|h| h.plain()).collect();
                return print_json(&plain);
            }
            if hits.is_empty() {
                println!("no matches for {query:?}");
            }
            let (on, off) = if std::io::stdout().is_terminal() {
                ("\x1b[1m", "\x1b[0m")
            } else {
                ("«", "»")
            };
            for h in hits {
                let snippet = safe::highlight(
                    &h.snippet,
                    switchboard_sync::HIT_START,
                    switchboard_sync::HIT_END,
                    on,
                    off,
                );
                println!(
                    "#{}\t{}\t{}",
                    h.conversation_id,
                    terminal_safe(&h.contact_name.unwrap_or_default()),
                    snippet
                );
            }
            Ok(())
        }
        Command::Status => {
            let settings = home.settings()?;
            let Some(settings) = settings else {
                if cli.json {
                    return print_json(&json!({"signed_in": false}));
                }
                println!("not signed in");
                return Ok(());
            };
            let (engine, _) = open(&home).await?;
            let answer = engine
                .client()
                .await
                .events(engine.cache().cursor()?, 1)
                .await;
            if let Err(e) = &answer {
                // A deactivated account: the engine deletes what this machine kept of it.
                engine.on_error(e);
            }
            let state = match answer {
                Ok(_) => ConnectionState::Online,
                Err(SyncError::AuthExpired) | Err(SyncError::NotSignedIn) => {
                    ConnectionState::AuthExpired
                }
                Err(SyncError::Deactivated) => ConnectionState::Deactivated,
                Err(_) => ConnectionState::Offline,
            };
            let counts = engine.cache().counts()?;
            let user = engine.user()?;
            let out = json!({
                "signed_in": true, "relay": settings.relay_url, "user": user, "connection": state,
                "cursor": engine.cache().cursor()?, "outbox": {"pending": counts.outbox_pending, "failed": counts.outbox_failed},
                "cache": {"path": home.cache_path(&settings), "conversations": counts.conversations, "messages": counts.messages},
                "token_store": home.secrets().describe(),
            });
            if cli.json {
                return print_json(&out);
            }
            println!("relay:       {}", settings.relay_url);
            if let Some(u) = user {
                println!(
                    "signed in:   {} <{}> ({})",
                    terminal_safe(&u.name),
                    terminal_safe(&u.email),
                    terminal_safe(&u.role)
                );
            }
            println!(
                "connection:  {}",
                serde_json::to_value(state)?.as_str().unwrap_or("?")
            );
            println!("cursor:      {}", out["cursor"]);
            println!(
                "outbox:      {} pending, {} failed",
                counts.outbox_pending, counts.outbox_failed
            );
            println!(
                "cache:       {} conversations, {} messages in {}",
                counts.conversations,
                counts.messages,
                home.cache_path(&settings).display()
            );
            println!("token kept in {}", home.secrets().describe());
            Ok(())
        }
        Command::Admin(cmd) => {
            let (engine, _) = open(&home).await?;
            admin::run(&engine.client().await, cmd, cli.json).await
        }
        Command::Sync => {
            let (engine, _) = open(&home).await?;
            let (events, report) = engine.sync_once().await?;
            if cli.json {
                return print_json(
                    &json!({"events": events, "sent": report.sent, "failed": report.failed, "cursor": engine.cache().cursor()?}),
                );
            }
            println!(
                "synced {events} events; sent {} queued message(s), {} refused; cursor {}",
                report.sent,
                report.failed,
                engine.cache().cursor()?
            );
            Ok(())
        }
        Command::Inbox {
            view,
            status,
            number,
            tag,
            limit,
        } => {
            let (engine, online) = open_synced(&home).await?;
            let filter = ConversationFilter {
                view: match view {
                    ViewArg::Mine => View::Mine,
                    ViewArg::Unassigned => View::Unassigned,
                    ViewArg::All => View::All,
                },
                status,
                phone_number_id: number,
                tag,
                limit: Some(limit),
                ..Default::default()
            };
            let convs = engine.cache().conversations(&filter)?;
            if cli.json {
                return print_json(&convs);
            }
            if !online {
                eprintln!("(offline: showing cached data)");
            }
            if convs.is_empty() {
                println!("no conversations");
            }
            for c in convs {
                let who = c
                    .contact
                    .name
                    .clone()
                    .or(c.contact.wa_id.clone())
                    .or(c.contact.username.clone())
                    .unwrap_or_default();
                let unread = if c.unread_count > 0 {
                    format!("({} new)", c.unread_count)
                } else {
                    String::new()
                };
                let tags = if c.contact.tags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", c.contact.tags.join(", "))
                };
                println!(
                    "#{}\t{}{}\t{}\t{}\t{}",
                    c.id,
                    terminal_safe(&who),
                    terminal_safe(&tags),
                    terminal_safe(&c.status),
                    unread,
                    terminal_safe(&c.last_message_preview)
                );
            }
            Ok(())
        }
        Command::Show {
            conversation,
            limit,
        } => {
            let (engine, online) = open_synced(&home).await?;
            let conv = engine.cache().conversation(conversation)?;
            if online {
                // Messages from before this user could see the conversation (a transfer).
                engine.fetch_history(conversation).await?;
            }
            let items = engine.cache().timeline(conversation, None, limit)?;
            if cli.json {
                return print_json(&json!({"conversation": conv, "timeline": items}));
            }
            if !online {
                eprintln!("(offline: showing cached data)");
            }
            println!(
                "#{} {} ({})",
                conv.id,
                terminal_safe(conv.contact.name.as_deref().unwrap_or_default()),
                terminal_safe(conv.contact.wa_id.as_deref().unwrap_or_default())
            );
            for item in items {
                match item {
                    TimelineItem::Message(m) => {
                        let arrow = if m.direction == Direction::Inbound {
                            "<"
                        } else {
                            ">"
                        };
                        let state = m
                            .status
                            .map(|s| format!(" [{}]", s.as_str()))
                            .unwrap_or_default();
                        let err = m
                            .error
                            .as_ref()
                            .map(|e| format!(" ({} {})", e.code, e.reason))
                            .unwrap_or_default();
                        let body = if m.text.is_empty() {
                            format!("[{}]", m.type_name)
                        } else {
                            m.text.clone()
                        };
                        // What the author changed afterwards, in words.
                        let outbound = m.direction == Direction::Outbound;
                        let amended = match (m.edited_at, m.deleted_at) {
                            (_, Some(_)) if outbound => " (deleted in the phone app)",
                            (_, Some(_)) => " (deleted by the customer)",
                            (Some(_), None) => " (edited)",
                            _ => "",
                        };
                        // Messages that did not go through Switchboard.
                        let via = match m.origin.as_deref() {
                            Some(switchboard_protocol::api::origin::PHONE_APP) => " (phone app)",
                            Some(switchboard_protocol::api::origin::HISTORY) => " (history)",
                            _ => "",
                        };
                        println!(
                            "{arrow} {}{}{}{via}{amended}",
                            terminal_safe(&body),
                            state,
                            terminal_safe(&err)
                        );
                    }
                    TimelineItem::Pending(p) => {
                        let state = if p.state == "failed" {
                            format!(" [failed: {}]", p.error_message.unwrap_or_default())
                        } else {
                            " [pending]".into()
                        };
                        println!("> {}{}", terminal_safe(&p.text), terminal_safe(&state));
                    }
                }
            }
            Ok(())
        }
        Command::Send { conversation, text } => {
            let (engine, _) = open(&home).await?;
            // Catching up first makes sure the conversation is known locally.
            if engine.cache().conversation(conversation).is_err() {
                engine.catch_up().await?;
            }
            let pending = engine.send(
                conversation,
                SendRequest::Text {
                    text,
                    preview_url: false,
                    reply_to: None,
                },
            )?;
            let outcome = engine.flush_outbox().await;
            let queued_only = match &outcome {
                Ok(_) => false,
                Err(e) if e.is_transient() => true,
                Err(e) => return Err(e.to_string().into()),
            };
            let failed = engine
                .cache()
                .outbox()?
                .into_iter()
                .find(|p| p.client_id == pending.client_id && p.state == "failed");
            if let Some(f) = failed {
                return Err(format!(
                    "the relay refused the message: {}",
                    f.error_message.unwrap_or_default()
                )
                .into());
            }
            if cli.json {
                return print_json(
                    &json!({"client_id": pending.client_id, "queued_offline": queued_only}),
                );
            }
            if queued_only {
                println!("queued: the relay is unreachable; the message goes out with the next command that reaches it");
            } else {
                let _ = engine.catch_up().await;
                println!("sent (client id {})", pending.client_id);
            }
            Ok(())
        }
        Command::Tail => {
            let (engine, _) = open(&home).await?;
            let mut changes = engine.changes();
            let runner = engine.clone();
            let task = tokio::spawn(async move {
                runner
                    .run(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await
            });
            let json_out = cli.json;
            let printer = async {
                while let Ok(change) = changes.recv().await {
                    if json_out {
                        println!("{}", serde_json::to_string(&change).unwrap_or_default());
                        continue;
                    }
                    match change {
                        switchboard_sync::Change::State { state } => eprintln!(
                            "[{}]",
                            serde_json::to_value(state)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default()
                        ),
                        switchboard_sync::Change::Timeline { conversation_id } => {
                            if let Some(TimelineItem::Message(m)) = engine
                                .cache()
                                .timeline(conversation_id, None, 1)
                                .ok()
                                .and_then(|t| t.into_iter().last())
                            {
                                let arrow = if m.direction == Direction::Inbound {
                                    "<"
                                } else {
                                    ">"
                                };
                                println!(
                                    "#{conversation_id} {arrow} {} {}",
                                    terminal_safe(&m.text),
                                    m.status.map(|s| s.as_str()).unwrap_or("")
                                );
                            }
                        }
                        _ => {}
                    }
                }
            };
            tokio::select! { _ = printer => {}, _ = task => {} }
            Ok(())
        }
    }
}

async fn login(
    home: &Home,
    relay: &str,
    email: &str,
    password_stdin: bool,
    json_out: bool,
) -> AnyResult<()> {
    let password = if password_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!("Password for {email}: "))?
    };
    if password.is_empty() {
        return Err("no password given".into());
    }
    let client = RelayClient::new(relay, None)?;
    let answer = client.login(email, &password).await?;
    let settings = Settings {
        relay_url: client.base().to_string(),
        email: answer.user.email.clone(),
        user_id: answer.user.id,
    };
    let secrets = home.secrets();
    if let Some(note) = home.secret_store_note() {
        eprintln!("{note}");
    }
    secrets.set(&settings.account(), &answer.token)?;
    home.save_settings(&settings)?;
    let cache = Cache::open(&home.cache_path(&settings))?;
    cache.set_user(&answer.user)?;
    let engine = Engine::new(
        cache,
        RelayClient::new(&settings.relay_url, Some(answer.token))?,
    );
    let events = engine.catch_up().await?;
    if json_out {
        return print_json(
            &json!({"user": answer.user, "relay": settings.relay_url, "events": events}),
        );
    }
    println!(
        "signed in as {} ({}) at {}; {} events synced",
        terminal_safe(&answer.user.name),
        terminal_safe(&answer.user.role),
        settings.relay_url,
        events
    );
    Ok(())
}

/// The engine for the signed-in user, without touching the network.
async fn open(home: &Home) -> AnyResult<(Engine, bool)> {
    let settings = home.settings()?.ok_or(SyncError::NotSignedIn)?;
    let token = home
        .secrets()
        .get(&settings.account())?
        .ok_or(SyncError::NotSignedIn)?;
    let cache = Cache::open(&home.cache_path(&settings))?;
    Ok((
        Engine::new(cache, RelayClient::new(&settings.relay_url, Some(token))?),
        false,
    ))
}

/// The engine after a best-effort catch-up and flush; `true` if the relay answered.
async fn open_synced(home: &Home) -> AnyResult<(Engine, bool)> {
    let (engine, _) = open(home).await?;
    match engine.sync_once().await {
        Ok(_) => Ok((engine, true)),
        Err(e) if e.is_transient() => Ok((engine, false)),
        Err(e) => Err(e.into()),
    }
}
