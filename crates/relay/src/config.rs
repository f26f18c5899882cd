//! Relay configuration: a TOML file (`--config`) overlaid by environment variables.
//!
//! The environment names are part of the operator contract: `SWITCHBOARD_LISTEN`,
//! `SWITCHBOARD_DATABASE_URL`, `SWITCHBOARD_DATA_DIR`, `SWITCHBOARD_METRICS_TOKEN`,
//! `SWITCHBOARD_TRUSTED_PROXIES`, `WA_APP_SECRET`, `WA_VERIFY_TOKEN`, `WA_ACCESS_TOKEN`, `WA_GRAPH_URL`, `WA_API_VERSION`.
//! Secrets are wrapped in [`Secret`], whose `Debug` never prints the value, so a config can be
//! logged safely; errors about the file name the line and the setting, never the text of the line
//! or a secret's value.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `at` is a position (`line 3`), `message` what the parser says; neither quotes the file.
    #[error("config file {path} is not valid TOML ({at}): {message}")]
    Toml {
        path: PathBuf,
        at: String,
        message: String,
    },
    #[error("setting {name} is missing: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("setting {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// A secret string: usable, never printed.
#[derive(Clone, Default, PartialEq)]
pub struct Secret(String);

/// A string; any other value is refused without echoing it (serde's own message would quote it).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)
            .map(Secret)
            .map_err(|_| serde::de::Error::custom("a secret must be a string"))
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("<unset>")
        } else {
            f.write_str("<redacted>")
        }
    }
}

/// The number [`Config::for_test`] configures: the simulator's default `phone_number_id`.
pub const TEST_NUMBER: &str = "200000000000002";

/// A business phone number the relay serves.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NumberConfig {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub name: String,
    #[serde(default)]
    pub waba_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub app_secret: Secret,
    pub verify_token: Secret,
    pub access_token: Secret,
    /// Seals the credentials of business accounts at rest (`SWITCHBOARD_SECRET_KEY`: 32 bytes
    /// as 64 hex digits or base64; environment only). Without it, only the token and secret
    /// above are used and admins cannot store others.
    pub secret_key: Option<crate::secrets::SecretBox>,
    pub graph_url: String,
    pub api_version: String,
    pub numbers: Vec<NumberConfig>,
    /// Timeout of one Graph API call.
    pub graph_timeout: Duration,
    /// How often a send is retried on transient errors before it is marked failed.
    pub send_max_attempts: u32,
    /// First retry delay; doubles each attempt (with jitter), capped at `send_backoff_max`.
    pub send_backoff_base: Duration,
    pub send_backoff_max: Duration,
    /// Default send-rate limits of a number (admins change them per number at run time).
    pub send_rate: crate::policy::ratelimit::RateSettings,
    /// Upper bound of the on-disk media cache.
    pub media_cache_bytes: u64,
    /// Upper bound of the media archive (`media_archive_mb`, `SWITCHBOARD_MEDIA_ARCHIVE_MB`;
    /// default 10 GiB): the oldest files go first when it is full.
    pub media_archive_bytes: u64,
    /// Archived files older than this are removed (`media_archive_days`,
    /// `SWITCHBOARD_MEDIA_ARCHIVE_DAYS`; default 365, 0 = only the size bound).
    pub media_archive_retention: Option<Duration>,
    /// The first wait before an archive download is retried (`media_archive_retry_ms`,
    /// default 5000; it grows fourfold per failure).
    pub media_archive_retry_base: Duration,
    /// How often the leader purges what is past each number's retention (`retention_check_ms`,
    /// default one hour).
    pub retention_every: Duration,
    /// Rows a purge removes per write job (`retention_batch`, default 500): small jobs keep
    /// webhooks' acknowledgements quick while a purge runs.
    pub retention_batch: usize,
    /// Login attempts allowed per email per minute.
    pub login_attempts_per_minute: u32,
    /// A session's absolute lifetime.
    pub token_ttl: Duration,
    /// A session unused this long ends (open streams count as use).
    pub session_idle: Duration,
    /// Shortest password accepted for new passwords (at least 8).
    pub password_min_length: usize,
    /// The bearer token a scraper off the loopback interface presents to read `/metrics`
    /// (`SWITCHBOARD_METRICS_TOKEN`, `metrics_token`); without one, only loopback peers may.
    pub metrics_token: Option<Secret>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`trusted_proxies`,
    /// `SWITCHBOARD_TRUSTED_PROXIES`); from any other peer the header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Live streams one user may hold open on this relay at once.
    pub max_streams_per_user: usize,
    /// Connections this relay keeps open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Time a client has to send a request's headers; an idle keep-alive connection is closed
    /// after it too.
    pub header_read_timeout: Duration,
}

#[derive(Clone, PartialEq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    /// A `postgres://` URL; may carry a password, so `Debug` shows only the host part.
    Postgres(Secret),
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            DatabaseUrl::Postgres(url) => {
                let url = url.expose();
                let host = url
                    .rsplit('@')
                    .next()
                    .unwrap_or("")
                    .split('/')
                    .next()
                    .unwrap_or("");
                write!(f, "Postgres(postgres://…@{host}/…)")
            }
        }
    }
}

/// The file layout: every key optional, the environment fills or overrides.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    #[serde(default)]
    whatsapp: WhatsAppFile,
    #[serde(default)]
    numbers: Vec<NumberConfig>,
    #[serde(default)]
    sending: SendingFile,
    media_cache_mb: Option<u64>,
    media_archive_mb: Option<u64>,
    media_archive_days: Option<u64>,
    media_archive_retry_ms: Option<u64>,
    retention_check_ms: Option<u64>,
    retention_batch: Option<usize>,
    login_attempts_per_minute: Option<u32>,
    token_ttl_hours: Option<u64>,
    session_idle_hours: Option<u64>,
    password_min_length: Option<usize>,
    metrics_token: Option<Secret>,
    trusted_proxies: Option<Vec<String>>,
    max_streams_per_user: Option<usize>,
    max_connections: Option<usize>,
    header_read_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsAppFile {
    app_secret: Option<Secret>,
    verify_token: Option<Secret>,
    access_token: Option<Secret>,
    graph_url: Option<String>,
    api_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendingFile {
    timeout_ms: Option<u64>,
    max_attempts: Option<u32>,
    backoff_base_ms: Option<u64>,
    backoff_max_ms: Option<u64>,
    rate_per_minute: Option<u32>,
    rate_burst: Option<u32>,
    pair_interval_ms: Option<i64>,
    pair_burst: Option<u32>,
}

pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v25.0";

/// What the configuration is loaded for: serving needs the WhatsApp secrets, admin commands only
/// the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Purpose {
    Serve,
    Admin,
}

impl Config {
    /// Loads `path` (if given) and overlays the process environment.
    pub fn load(path: Option<&Path>, purpose: Purpose) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_with_env(path, &env, purpose)
    }

    pub fn load_with_env(
        path: Option<&Path>,
        env: &HashMap<String, String>,
        purpose: Purpose,
    ) -> Result<Config, ConfigError> {
        let file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| toml_error(p, &text, &e))?
            }
            None => FileConfig::default(),
        };
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();

        let listen_s = get("SWITCHBOARD_LISTEN")
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8787".into());
        let listen = listen_s.parse().map_err(|_| ConfigError::Invalid {
            name: "SWITCHBOARD_LISTEN".into(),
            reason: format!("{listen_s:?} is not an address like 127.0.0.1:8787"),
        })?;
        let data_dir = get("SWITCHBOARD_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database = match get("SWITCHBOARD_DATABASE_URL").or(file.database_url) {
            None => DatabaseUrl::Sqlite(data_dir.join("switchboard.db")),
            Some(url) => parse_database_url(&url)?,
        };

        let secret = |env_name: &str, file_value: Option<Secret>| {
            get(env_name).map(Secret).or(file_value).unwrap_or_default()
        };
        let app_secret = secret("WA_APP_SECRET", file.whatsapp.app_secret);
        let verify_token = secret("WA_VERIFY_TOKEN", file.whatsapp.verify_token);
        let access_token = secret("WA_ACCESS_TOKEN", file.whatsapp.access_token);
        let secret_key = match get("SWITCHBOARD_SECRET_KEY") {
            None => None,
            Some(k) => Some(crate::secrets::SecretBox::from_text(&k).map_err(|e| {
                ConfigError::Invalid {
                    name: "SWITCHBOARD_SECRET_KEY".into(),
                    reason: e.to_string(),
                }
            })?),
        };
        let metrics_token =
            Some(secret("SWITCHBOARD_METRICS_TOKEN", file.metrics_token)).filter(|t| !t.is_empty());
        let trusted_proxies = match get("SWITCHBOARD_TRUSTED_PROXIES") {
            Some(list) => parse_proxies("SWITCHBOARD_TRUSTED_PROXIES", list.split(','))?,
            None => parse_proxies(
                "trusted_proxies",
                file.trusted_proxies.iter().flatten().map(String::as_str),
            )?,
        };
        if purpose == Purpose::Serve {
            if app_secret.is_empty() {
                return Err(ConfigError::Missing {
                    name: "WA_APP_SECRET",
                    hint:
                        "the Meta app secret that signs webhooks (App Dashboard > Settings > Basic)",
                });
            }
            if verify_token.is_empty() {
                return Err(ConfigError::Missing {
                    name: "WA_VERIFY_TOKEN",
                    hint: "the verify token you enter in Meta's webhook configuration",
                });
            }
            if access_token.is_empty() {
                return Err(ConfigError::Missing {
                    name: "WA_ACCESS_TOKEN",
                    hint: "a system-user access token for the Graph API",
                });
            }
        }
        let graph_url = get("WA_GRAPH_URL")
            .or(file.whatsapp.graph_url)
            .unwrap_or_else(|| DEFAULT_GRAPH_URL.into())
            .trim_end_matches('/')
            .to_string();
        if !(graph_url.starts_with("https://") || graph_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "WA_GRAPH_URL".into(),
                reason: format!("{graph_url:?} is not an http(s) URL"),
            });
        }
        let api_version = get("WA_API_VERSION")
            .or(file.whatsapp.api_version)
            .unwrap_or_else(|| DEFAULT_API_VERSION.into());
        if !valid_api_version(&api_version) {
            return Err(ConfigError::Invalid {
                name: "WA_API_VERSION".into(),
                reason: format!("{api_version:?} is not a Graph version like v25.0"),
            });
        }

        let mut seen = std::collections::HashSet::new();
        for (i, n) in file.numbers.iter().enumerate() {
            if n.phone_number_id.is_empty()
                || !n.phone_number_id.chars().all(|c| c.is_ascii_digit())
            {
                return Err(ConfigError::Invalid {
                    name: format!("numbers[{i}].phone_number_id"),
                    reason: format!(
                        "{:?} must be Meta's numeric phone number id",
                        n.phone_number_id
                    ),
                });
            }
            if !seen.insert(n.phone_number_id.clone()) {
                return Err(ConfigError::Invalid {
                    name: format!("numbers[{i}].phone_number_id"),
                    reason: format!("{} is listed twice", n.phone_number_id),
                });
            }
        }

        let ms = |v: Option<u64>, d: u64| Duration::from_millis(v.unwrap_or(d));
        let number = |name: &str, file_value: Option<u64>, default: u64| match get(name) {
            None => Ok(file_value.unwrap_or(default)),
            Some(v) => v.parse::<u64>().map_err(|_| ConfigError::Invalid {
                name: name.into(),
                reason: format!("{v:?} is not a whole number"),
            }),
        };
        let archive_mb = number(
            "SWITCHBOARD_MEDIA_ARCHIVE_MB",
            file.media_archive_mb,
            10 * 1024,
        )?;
        let archive_days = number(
            "SWITCHBOARD_MEDIA_ARCHIVE_DAYS",
            file.media_archive_days,
            365,
        )?;
        let config = Config {
            listen,
            data_dir,
            database,
            app_secret,
            verify_token,
            access_token,
            secret_key,
            graph_url,
            api_version,
            numbers: file.numbers,
            graph_timeout: ms(file.sending.timeout_ms, 15_000),
            send_max_attempts: file.sending.max_attempts.unwrap_or(8),
            send_backoff_base: ms(file.sending.backoff_base_ms, 500),
            send_backoff_max: ms(file.sending.backoff_max_ms, 60_000),
            send_rate: {
                let d = crate::policy::ratelimit::RateSettings::default();
                crate::policy::ratelimit::RateSettings {
                    per_minute: file.sending.rate_per_minute.unwrap_or(d.per_minute),
                    burst: file.sending.rate_burst.unwrap_or(d.burst),
                    pair_interval_ms: file.sending.pair_interval_ms.unwrap_or(d.pair_interval_ms),
                    pair_burst: file.sending.pair_burst.unwrap_or(d.pair_burst),
                }
            },
            media_cache_bytes: file.media_cache_mb.unwrap_or(1024) * 1024 * 1024,
            media_archive_bytes: archive_mb.saturating_mul(1024 * 1024),
            media_archive_retention: (archive_days > 0)
                .then(|| Duration::from_secs(archive_days.saturating_mul(86_400))),
            media_archive_retry_base: ms(file.media_archive_retry_ms, 5_000),
            retention_every: ms(file.retention_check_ms, 3_600_000),
            retention_batch: file.retention_batch.unwrap_or(500).clamp(10, 100_000),
            login_attempts_per_minute: file.login_attempts_per_minute.unwrap_or(10),
            token_ttl: Duration::from_secs(file.token_ttl_hours.unwrap_or(24 * 30) * 3600),
            session_idle: Duration::from_secs(file.session_idle_hours.unwrap_or(72) * 3600),
            password_min_length: file.password_min_length.unwrap_or(8),
            metrics_token,
            trusted_proxies,
            max_streams_per_user: file.max_streams_per_user.unwrap_or(10),
            max_connections: file.max_connections.unwrap_or(10_000),
            header_read_timeout: Duration::from_secs(file.header_read_timeout_secs.unwrap_or(10)),
        };
        if let Err(reason) = config.send_rate.validate() {
            return Err(ConfigError::Invalid {
                name: "sending.rate_per_minute / rate_burst / pair_interval_ms / pair_burst".into(),
                reason,
            });
        }
        if !(8..=128).contains(&config.password_min_length) {
            return Err(ConfigError::Invalid {
                name: "password_min_length".into(),
                reason: "must be between 8 and 128".into(),
            });
        }
        if config.session_idle.is_zero() || config.token_ttl.is_zero() {
            return Err(ConfigError::Invalid {
                name: "session_idle_hours / token_ttl_hours".into(),
                reason: "must be at least 1".into(),
            });
        }
        if config.send_max_attempts == 0 || config.login_attempts_per_minute == 0 {
            return Err(ConfigError::Invalid {
                name: "sending.max_attempts / login_attempts_per_minute".into(),
                reason: "must be at least 1".into(),
            });
        }
        if config.max_streams_per_user == 0
            || config.max_connections == 0
            || config.header_read_timeout.is_zero()
        {
            return Err(ConfigError::Invalid {
                name: "max_streams_per_user / max_connections / header_read_timeout_secs".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(config)
    }

    /// A configuration for tests and the demo: everything explicit, nothing from the environment.
    /// The simulator's default number ([`TEST_NUMBER`]) is configured, as a deployment's own
    /// would be; webhooks for any other number are held (see `store::numbers`).
    pub fn for_test(data_dir: &Path, graph_url: &str, app_secret: &str) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            database: DatabaseUrl::Sqlite(data_dir.join("switchboard.db")),
            app_secret: Secret::new(app_secret),
            verify_token: Secret::new("verify-me"),
            access_token: Secret::new("sim-access-token"),
            secret_key: None,
            graph_url: graph_url.trim_end_matches('/').to_string(),
            api_version: DEFAULT_API_VERSION.into(),
            numbers: vec![NumberConfig {
                phone_number_id: TEST_NUMBER.into(),
                display_phone_number: "15550001111".into(),
                name: "Test".into(),
                // None: learnt from the first webhook (`store::numbers::note_number_seen`).
                waba_id: None,
            }],
            graph_timeout: Duration::from_secs(2),
            send_max_attempts: 6,
            send_backoff_base: Duration::from_millis(50),
            send_backoff_max: Duration::from_millis(500),
            // Tests send bursts to one customer; they opt in to Meta's limits where they test them.
            send_rate: crate::policy::ratelimit::RateSettings {
                per_minute: 120,
                burst: 120,
                pair_interval_ms: 0,
                pair_burst: 1,
            },
            media_cache_bytes: 64 * 1024 * 1024,
            media_archive_bytes: 64 * 1024 * 1024,
            media_archive_retention: None,
            media_archive_retry_base: Duration::from_millis(200),
            retention_every: Duration::from_secs(3600),
            retention_batch: 500,
            login_attempts_per_minute: 30,
            token_ttl: Duration::from_secs(3600),
            session_idle: Duration::from_secs(3600),
            password_min_length: 8,
            metrics_token: None,
            trusted_proxies: vec![],
            max_streams_per_user: 10,
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// The addresses of a list of trusted proxies; an entry that is not one is refused by `name`.
fn parse_proxies<'a>(
    name: &str,
    entries: impl Iterator<Item = &'a str>,
) -> Result<Vec<IpAddr>, ConfigError> {
    entries
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<IpAddr>().map_err(|_| ConfigError::Invalid {
                name: name.to_string(),
                reason: format!("{e:?} is not an IP address (ranges are not supported)"),
            })
        })
        .collect()
}

/// A TOML error as the operator sees it: the line and what is wrong, never the text of the line,
/// which `toml`'s own `Display` quotes and which may hold a secret (`app_secret = "..."`).
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let at = match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            format!("line {line}")
        }
        None => "position unknown".to_string(),
    };
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    ConfigError::Toml {
        path: path.to_path_buf(),
        at,
        message,
    }
}

fn valid_api_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit())
    )
}

fn parse_database_url(url: &str) -> Result<DatabaseUrl, ConfigError> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(ConfigError::Invalid {
                name: "SWITCHBOARD_DATABASE_URL".into(),
                reason: "sqlite URL has no file path".into(),
            });
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Checked here so a typo stops start-up with the setting's name, not a driver error.
        if let Err(e) = url.parse::<postgres::Config>() {
            return Err(ConfigError::Invalid {
                name: "SWITCHBOARD_DATABASE_URL".into(),
                reason: format!("not a valid PostgreSQL URL: {e}"),
            });
        }
        return Ok(DatabaseUrl::Postgres(Secret::new(url.to_string())));
    }
    Err(ConfigError::Invalid {
        name: "SWITCHBOARD_DATABASE_URL".into(),
        reason: "expected sqlite://PATH or postgres://USER@HOST/DATABASE".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SECRETS: [(&str, &str); 3] = [
        ("WA_APP_SECRET", "s3cret-app"),
        ("WA_VERIFY_TOKEN", "vt"),
        ("WA_ACCESS_TOKEN", "tok-abc"),
    ];

    #[test]
    fn defaults_and_env_overrides() {
        let c = Config::load_with_env(None, &env(&SECRETS), Purpose::Serve).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(
            c.database,
            DatabaseUrl::Sqlite(PathBuf::from("./data/switchboard.db"))
        );
        assert_eq!(c.graph_url, DEFAULT_GRAPH_URL);
        let mut e = env(&SECRETS);
        e.insert("SWITCHBOARD_LISTEN".into(), "127.0.0.1:9999".into());
        e.insert("SWITCHBOARD_DATA_DIR".into(), "/srv/sb".into());
        e.insert("WA_GRAPH_URL".into(), "http://127.0.0.1:1234/".into());
        e.insert("WA_API_VERSION".into(), "v26.0".into());
        let c = Config::load_with_env(None, &e, Purpose::Serve).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(
            c.database,
            DatabaseUrl::Sqlite(PathBuf::from("/srv/sb/switchboard.db"))
        );
        assert_eq!(c.graph_url, "http://127.0.0.1:1234");
        assert_eq!(c.api_version, "v26.0");
    }

    #[test]
    fn missing_and_invalid_settings_are_named() {
        let err = Config::load_with_env(None, &env(&SECRETS[1..]), Purpose::Serve).unwrap_err();
        assert!(err.to_string().contains("WA_APP_SECRET"), "{err}");
        // Admin commands do not need the WhatsApp secrets.
        Config::load_with_env(None, &env(&[]), Purpose::Admin).unwrap();
        let mut e = env(&SECRETS);
        e.insert("SWITCHBOARD_LISTEN".into(), "nonsense".into());
        let err = Config::load_with_env(None, &e, Purpose::Serve).unwrap_err();
        assert!(err.to_string().contains("SWITCHBOARD_LISTEN"));
        let mut e = env(&SECRETS);
        e.insert("WA_API_VERSION".into(), "25".into());
        assert!(Config::load_with_env(None, &e, Purpose::Serve)
            .unwrap_err()
            .to_string()
            .contains("WA_API_VERSION"));
        let mut e = env(&SECRETS);
        e.insert("SWITCHBOARD_DATABASE_URL".into(), "mysql://x".into());
        assert!(Config::load_with_env(None, &e, Purpose::Serve)
            .unwrap_err()
            .to_string()
            .contains("SWITCHBOARD_DATABASE_URL"));
    }

    #[test]
    fn toml_file_with_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        let mut toml = String::from("listen = \"127.0.0.1:8000\"\n[whatsapp]\napp_secret = \"from-file\"\nverify_token = \"v\"\naccess_token = \"t\"\n");
        for i in 0..60 {
            toml.push_str(&format!(
                "[[numbers]]\nphone_number_id = \"2000000000{i:05}\"\ndisplay_phone_number = \"4930{i:05}\"\nname = \"Filiale {i}\"\n"
            ));
        }
        std::fs::write(&path, &toml).unwrap();
        let c = Config::load_with_env(
            Some(&path),
            &env(&[("WA_APP_SECRET", "from-env")]),
            Purpose::Serve,
        )
        .unwrap();
        assert_eq!(c.numbers.len(), 60);
        assert_eq!(c.app_secret.expose(), "from-env");
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("from-env") && !printed.contains("\"t\""),
            "secrets leak: {printed}"
        );

        std::fs::write(&path, "listen = \"127.0.0.1:8000\"\nbogus = 1\n").unwrap();
        let err = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        std::fs::write(
            &path,
            "[[numbers]]\nphone_number_id = \"abc\"\ndisplay_phone_number = \"1\"\nname = \"x\"\n",
        )
        .unwrap();
        let err = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve).unwrap_err();
        assert!(
            err.to_string().contains("numbers[0].phone_number_id"),
            "{err}"
        );
    }

    #[test]
    fn toml_errors_name_the_line_never_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        // A syntax error on a line holding a secret.
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:8000\"\n[whatsapp]\napp_secret = \"s3cr3t-value\" x\n",
        )
        .unwrap();
        let err = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve)
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("s3cr3t-value"),
            "secret in the message: {err}"
        );
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("relay.toml"), "{err}");
        // A secret of the wrong type is not echoed either.
        std::fs::write(&path, "[whatsapp]\nverify_token = 98765432123\n").unwrap();
        let err = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("98765432123"), "secret in the message: {err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn metrics_token_from_file_or_environment() {
        let c = Config::load_with_env(None, &env(&SECRETS), Purpose::Serve).unwrap();
        assert!(c.metrics_token.is_none());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "metrics_token = \"from-file\"\n").unwrap();
        let c = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve).unwrap();
        assert_eq!(
            c.metrics_token.as_ref().map(Secret::expose),
            Some("from-file")
        );
        let mut e = env(&SECRETS);
        e.insert("SWITCHBOARD_METRICS_TOKEN".into(), "from-env".into());
        let c = Config::load_with_env(Some(&path), &e, Purpose::Serve).unwrap();
        assert_eq!(
            c.metrics_token.as_ref().map(Secret::expose),
            Some("from-env")
        );
        assert!(!format!("{c:?}").contains("from-env"));
        std::fs::write(&path, "metrics_token = \"\"\n").unwrap();
        let c = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve).unwrap();
        assert!(c.metrics_token.is_none(), "an empty token is no token");
    }

    #[test]
    fn connection_limits_and_trusted_proxies_from_file_or_environment() {
        let c = Config::load_with_env(None, &env(&SECRETS), Purpose::Serve).unwrap();
        assert!(c.trusted_proxies.is_empty());
        assert_eq!((c.max_streams_per_user, c.max_connections), (10, 10_000));
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            "trusted_proxies = [\"10.0.0.2\", \"::1\"]\nmax_streams_per_user = 3\n\
             max_connections = 500\nheader_read_timeout_secs = 5\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(c.trusted_proxies, vec![ip("10.0.0.2"), ip("::1")]);
        assert_eq!((c.max_streams_per_user, c.max_connections), (3, 500));
        assert_eq!(c.header_read_timeout, Duration::from_secs(5));
        // The environment's list replaces the file's.
        let mut e = env(&SECRETS);
        e.insert(
            "SWITCHBOARD_TRUSTED_PROXIES".into(),
            " 192.0.2.1, 192.0.2.2 ,".into(),
        );
        let c = Config::load_with_env(Some(&path), &e, Purpose::Serve).unwrap();
        assert_eq!(c.trusted_proxies, vec![ip("192.0.2.1"), ip("192.0.2.2")]);
        e.insert("SWITCHBOARD_TRUSTED_PROXIES".into(), "192.0.2.0/24".into());
        let err = Config::load_with_env(None, &e, Purpose::Serve)
            .unwrap_err()
            .to_string();
        assert!(err.contains("SWITCHBOARD_TRUSTED_PROXIES"), "{err}");
        std::fs::write(&path, "trusted_proxies = [\"proxy.internal\"]\n").unwrap();
        let err = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve)
            .unwrap_err()
            .to_string();
        assert!(err.contains("trusted_proxies"), "{err}");
        for zero in [
            "max_streams_per_user = 0",
            "max_connections = 0",
            "header_read_timeout_secs = 0",
        ] {
            std::fs::write(&path, format!("{zero}\n")).unwrap();
            let err = Config::load_with_env(Some(&path), &env(&SECRETS), Purpose::Serve)
                .unwrap_err()
                .to_string();
            assert!(err.contains("must be at least 1"), "{zero}: {err}");
        }
    }
}
