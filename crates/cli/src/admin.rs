//! `switchboard admin ...`: the few admin tasks an operator scripts against a running relay, as
//! the signed-in user (the relay checks their permissions): users, business numbers and the
//! audit log (listed, or exported as CSV). Everything a person reads goes through
//! [`terminal_safe`]; `--json` prints the relay's objects.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use switchboard_protocol::admin::{AuditQuery, NewNumber, NewUser, UserPatch};
use switchboard_sync::RelayClient;

use crate::safe::terminal_safe;
use crate::{print_json, AnyResult};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Every user: id, role, active, email, name.
    Users,
    /// Create a user; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// A role's name: agent, supervisor, admin, or one an admin defined.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Give a user another role (their sessions end).
    SetRole { user: i64, role: String },
    /// Stop a user signing in (their sessions end at once).
    Deactivate { user: i64 },
    /// Let a deactivated user sign in again.
    Activate { user: i64 },
    /// The business numbers, configured and not.
    Numbers,
    /// Add a business number by name (or adopt one that appeared unconfigured).
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
    /// The audit log, newest first; with `--csv FILE` (or `-` for standard output) exported as CSV.
    Audit {
        /// Only this person (an email, or `cli`).
        #[arg(long)]
        actor: Option<String>,
        /// Only this action or those starting with it (`role.`).
        #[arg(long)]
        action: Option<String>,
        /// From this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<String>,
        /// Until the end of this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        until: Option<String>,
        /// How many entries to list (1..=1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Write the filtered log as CSV to this new file (`-`: standard output).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

/// Unix ms of a UTC day's start, `days` later.
pub fn day_ms(day: &str, days: i64) -> AnyResult<i64> {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("{day:?} is not a day like 2026-11-29"))?;
    let start = date
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis();
    Ok(start + days * 86_400_000)
}

pub async fn run(client: &RelayClient, cmd: AdminCommand, json: bool) -> AnyResult<()> {
    match cmd {
        AdminCommand::Users => {
            let users = client.accounts().await?;
            if json {
                return print_json(&users);
            }
            for u in users {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    terminal_safe(&u.role),
                    if u.active { "active" } else { "deactivated" },
                    terminal_safe(&u.email),
                    terminal_safe(&u.name)
                );
            }
        }
        AdminCommand::CreateUser {
            email,
            name,
            role,
            password_stdin: _,
        } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let user = client
                .create_user(&NewUser {
                    email,
                    name,
                    role,
                    password,
                })
                .await?;
            if json {
                return print_json(&user);
            }
            println!(
                "created user {} <{}> ({}) with id {}",
                terminal_safe(&user.name),
                terminal_safe(&user.email),
                terminal_safe(&user.role),
                user.id
            );
        }
        AdminCommand::SetRole { user, role } => {
            patch(
                client,
                user,
                UserPatch {
                    role: Some(role),
                    ..Default::default()
                },
                json,
            )
            .await?
        }
        AdminCommand::Deactivate { user } => {
            patch(
                client,
                user,
                UserPatch {
                    active: Some(false),
                    ..Default::default()
                },
                json,
            )
            .await?
        }
        AdminCommand::Activate { user } => {
            patch(
                client,
                user,
                UserPatch {
                    active: Some(true),
                    ..Default::default()
                },
                json,
            )
            .await?
        }
        AdminCommand::Numbers => {
            let numbers = client.numbers().await?;
            if json {
                return print_json(&numbers);
            }
            for n in numbers {
                println!(
                    "{}\t+{}\t{}\t{}",
                    terminal_safe(&n.phone_number_id),
                    terminal_safe(&n.display_phone_number),
                    terminal_safe(&n.name),
                    if n.configured {
                        "configured"
                    } else {
                        "UNCONFIGURED"
                    }
                );
            }
        }
        AdminCommand::AddNumber {
            phone_number_id,
            display_phone_number,
            name,
            waba_id,
        } => {
            let n = client
                .add_number(&NewNumber {
                    phone_number_id,
                    display_phone_number,
                    name,
                    waba_id,
                })
                .await?;
            if json {
                return print_json(&n);
            }
            println!(
                "number {} ({}) is configured",
                terminal_safe(&n.name),
                terminal_safe(&n.phone_number_id)
            );
        }
        AdminCommand::Audit {
            actor,
            action,
            since,
            until,
            limit,
            csv,
        } => {
            let query = AuditQuery {
                actor,
                action,
                since: since.as_deref().map(|d| day_ms(d, 0)).transpose()?,
                until: until.as_deref().map(|d| day_ms(d, 1)).transpose()?,
                before: None,
                limit: csv.is_none().then_some(limit),
            };
            match csv {
                Some(path) => export(client, &query, path).await?,
                None => {
                    let entries = client.audit(&query).await?;
                    if json {
                        return print_json(&entries);
                    }
                    for e in entries {
                        let at = chrono::DateTime::from_timestamp_millis(e.at)
                            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                            .unwrap_or_default();
                        println!(
                            "{}\t{at}\t{}\t{}\t{}",
                            e.id,
                            terminal_safe(&e.actor),
                            terminal_safe(&e.action),
                            terminal_safe(&e.details.to_string())
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

async fn patch(client: &RelayClient, user: i64, patch: UserPatch, json: bool) -> AnyResult<()> {
    let account = client.update_user(user, &patch).await?;
    if json {
        return print_json(&account);
    }
    println!(
        "user {} <{}>: {}, {}",
        account.id,
        terminal_safe(&account.email),
        terminal_safe(&account.role),
        if account.active {
            "active"
        } else {
            "deactivated"
        }
    );
    Ok(())
}

/// Streams the CSV into a new file (an existing one is never replaced) or to standard output.
async fn export(client: &RelayClient, query: &AuditQuery, path: PathBuf) -> AnyResult<()> {
    use tokio::io::AsyncWriteExt;
    let mut response = client.audit_export(query).await?;
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin> = if path.as_os_str() == "-" {
        Box::new(tokio::io::stdout())
    } else {
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Box::new(file)
    };
    while let Some(chunk) = response.chunk().await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    if path.as_os_str() != "-" {
        eprintln!("audit log written to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(day_ms("1970-01-02", 0).unwrap(), 86_400_000);
        assert_eq!(day_ms("1970-01-01", 1).unwrap(), 86_400_000);
        assert!(day_ms("29.11.2026", 0).is_err());
        assert!(day_ms("2026-02-30", 0).is_err());
    }
}
