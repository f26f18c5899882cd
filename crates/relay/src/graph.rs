//! The Graph API client: the only code that talks to Meta (or the simulator).
//!
//! It turns every answer into a [`SendOutcome`] using Meta's error codes (never HTTP status or
//! titles), so the sender decides retries from one place. The access token is sent only here and
//! never logged.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_protocol::api::SendRequest;
use switchboard_protocol::graph::{classify, ErrorEnvelope, Retry, SendResponse};

use crate::config::{Config, Secret};

/// Media downloads from Meta at once (each may be 100 MB); more wait for a turn.
pub const MEDIA_FETCHES: usize = 8;
/// How long a media download waits for its turn before the client is told to try again.
const MEDIA_FETCH_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    version: String,
    /// The access token of each call: its number's account's, or the relay's.
    pub creds: Arc<crate::credentials::Credentials>,
    media_fetches: Arc<tokio::sync::Semaphore>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Accepted {
        wamid: String,
    },
    /// Worth retrying; `throttled` asks for a slower backoff.
    Retry {
        code: Option<i64>,
        error: String,
        throttled: bool,
    },
    Terminal {
        code: i64,
        title: String,
        details: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("WhatsApp API error {code}: {message}")]
    Api { code: i64, message: String },
    #[error("WhatsApp API unreachable: {0}")]
    Transport(String),
    #[error("media too large ({0} bytes)")]
    TooLarge(u64),
    #[error("the media URL WhatsApp gave is not on WhatsApp's media hosts; it was not fetched")]
    UntrustedMediaUrl,
    #[error("too many media downloads at once")]
    Busy,
    #[error("the relay could not store the file: {0}")]
    Local(String),
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_size: Option<Value>,
}

impl GraphClient {
    pub fn new(config: &Config) -> GraphClient {
        let http = reqwest::Client::builder()
            .timeout(config.graph_timeout)
            .connect_timeout(Duration::from_secs(5).min(config.graph_timeout))
            .user_agent(concat!("switchboard-relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client builds");
        GraphClient {
            http,
            base: config.graph_url.clone(),
            version: config.api_version.clone(),
            creds: Arc::new(crate::credentials::Credentials::new(
                config.access_token.clone(),
                config.app_secret.clone(),
                config.secret_key.clone(),
            )),
            media_fetches: Arc::new(tokio::sync::Semaphore::new(MEDIA_FETCHES)),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base, self.version, path)
    }

    /// `POST /{phone_number_id}/messages`.
    pub async fn send(&self, phone_number_id: &str, payload: &Value) -> SendOutcome {
        let resp = self
            .http
            .post(self.url(&format!("{phone_number_id}/messages")))
            .bearer_auth(self.creds.token_for_number(phone_number_id).expose())
            .json(payload)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else {
                    "connection error"
                };
                return SendOutcome::Retry {
                    code: None,
                    error: format!("{kind}: {}", without_url(&e)),
                    throttled: false,
                };
            }
        };
        let status = resp.status();
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return SendOutcome::Retry {
                    code: None,
                    error: format!("reading response: {}", without_url(&e)),
                    throttled: false,
                }
            }
        };
        if status.is_success() {
            return match serde_json::from_slice::<SendResponse>(&body) {
                Ok(r) if !r.messages.is_empty() => SendOutcome::Accepted {
                    wamid: r.messages[0].id.clone(),
                },
                _ => SendOutcome::Retry {
                    code: None,
                    error: format!("unexpected success body from the Graph API (HTTP {status})"),
                    throttled: false,
                },
            };
        }
        match serde_json::from_slice::<ErrorEnvelope>(&body) {
            Ok(env) => {
                let e = env.error;
                match classify(e.code) {
                    Retry::Backoff => SendOutcome::Retry {
                        code: Some(e.code),
                        error: e.message,
                        throttled: false,
                    },
                    Retry::Throttled => SendOutcome::Retry {
                        code: Some(e.code),
                        error: e.message,
                        throttled: true,
                    },
                    Retry::Terminal => SendOutcome::Terminal {
                        code: e.code,
                        details: e.details(),
                        title: e.message,
                    },
                }
            }
            Err(_) if status.is_server_error() || status.as_u16() == 429 => SendOutcome::Retry {
                code: None,
                error: format!("HTTP {status} from the Graph API"),
                throttled: status.as_u16() == 429,
            },
            Err(_) => SendOutcome::Terminal {
                code: status.as_u16() as i64,
                title: format!("HTTP {status} from the Graph API"),
                details: Some(String::from_utf8_lossy(&body).chars().take(300).collect()),
            },
        }
    }

    /// `GET /{waba_id}/message_templates`, every page: the account's templates.
    pub async fn list_templates(
        &self,
        waba_id: &str,
    ) -> Result<Vec<crate::policy::templates::StoredTemplate>, GraphError> {
        let token = self.creds.token_for_waba(waba_id);
        let mut out = Vec::new();
        let mut url = Some(format!(
            "{}?limit=250",
            self.url(&format!("{waba_id}/message_templates"))
        ));
        let mut pages = 0;
        while let Some(u) = url.take() {
            let resp = self
                .http
                .get(&u)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| GraphError::Transport(without_url(&e)))?;
            let body = api_result(resp).await?;
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| GraphError::Transport(format!("bad template list: {e}")))?;
            let (list, next) = crate::policy::templates::parse_page(&value);
            out.extend(list);
            pages += 1;
            // Only follow `next` links back to the configured Graph host (it carries the token).
            url = next.filter(|n| n.starts_with(&self.base) && pages < 100);
        }
        Ok(out)
    }

    /// Marks an inbound message (and those before it) as read. Best effort.
    pub async fn mark_read(&self, phone_number_id: &str, wamid: &str) -> Result<(), GraphError> {
        let body = json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        let resp = self
            .http
            .post(self.url(&format!("{phone_number_id}/messages")))
            .bearer_auth(self.creds.token_for_number(phone_number_id).expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| GraphError::Transport(without_url(&e)))?;
        api_result(resp).await.map(|_| ())
    }

    /// `POST /{phone_number_id}/media`: uploads a file for sending; answers its media id.
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        bytes: Vec<u8>,
        mime: &str,
        filename: &str,
    ) -> Result<String, GraphError> {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime)
            .map_err(|e| GraphError::Api {
                code: 100,
                message: format!("content type {mime:?}: {e}"),
            })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.to_string())
            .part("file", part);
        let resp = self
            .http
            .post(self.url(&format!("{phone_number_id}/media")))
            .bearer_auth(self.creds.token_for_number(phone_number_id).expose())
            .timeout(Duration::from_secs(120))
            .multipart(form)
            .send()
            .await
            .map_err(|e| GraphError::Transport(without_url(&e)))?;
        let body = api_result(resp).await?;
        #[derive(serde::Deserialize)]
        struct Uploaded {
            id: String,
        }
        serde_json::from_slice::<Uploaded>(&body)
            .map(|u| u.id)
            .map_err(|e| GraphError::Transport(format!("bad upload answer: {e}")))
    }

    /// An inbound media file: its descriptor (`GET /{media_id}`), then its bytes from the URL
    /// that names, with the token, only when [`media_url_allowed`] (the token goes to Meta's
    /// media hosts only), written chunk by chunk into `out` (never held whole in memory). At most
    /// [`MEDIA_FETCHES`] run at once; one that waits 30 s for its turn is [`GraphError::Busy`].
    /// A file over `max_bytes` stops the download with [`GraphError::TooLarge`].
    /// `phone_number_id`: the number the file came on (its account's token is used).
    pub async fn fetch_media<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        media_id: &str,
        phone_number_id: Option<&str>,
        max_bytes: u64,
        out: &mut W,
    ) -> Result<MediaInfo, GraphError> {
        let _permit = tokio::time::timeout(MEDIA_FETCH_WAIT, self.media_fetches.acquire())
            .await
            .map_err(|_| GraphError::Busy)?
            .map_err(|_| GraphError::Busy)?;
        let token = self
            .creds
            .token_for_number(phone_number_id.unwrap_or_default());
        let info = self.media_info(media_id, &token).await?;
        if !media_url_allowed(&info.url, &self.base) {
            return Err(GraphError::UntrustedMediaUrl);
        }
        self.download(&info.url, &token, max_bytes, out).await?;
        Ok(info)
    }

    /// `GET /{media_id}`: a short-lived download URL.
    async fn media_info(&self, media_id: &str, token: &Secret) -> Result<MediaInfo, GraphError> {
        let resp = self
            .http
            .get(self.url(media_id))
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| GraphError::Transport(without_url(&e)))?;
        let body = api_result(resp).await?;
        serde_json::from_slice(&body)
            .map_err(|e| GraphError::Transport(format!("bad media descriptor: {e}")))
    }

    /// Downloads media bytes from a URL given by [`media_info`](Self::media_info) (needs the
    /// token; the caller checked the URL) into `out`, chunk by chunk; returns the length.
    async fn download<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        url: &str,
        token: &Secret,
        max_bytes: u64,
        out: &mut W,
    ) -> Result<u64, GraphError> {
        let mut resp = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|e| GraphError::Transport(without_url(&e)))?;
        if !resp.status().is_success() {
            return Err(api_result(resp).await.expect_err("not a success"));
        }
        if let Some(len) = resp.content_length() {
            if len > max_bytes {
                return Err(GraphError::TooLarge(len));
            }
        }
        let mut written = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| GraphError::Transport(without_url(&e)))?
        {
            written += chunk.len() as u64;
            if written > max_bytes {
                return Err(GraphError::TooLarge(written));
            }
            tokio::io::AsyncWriteExt::write_all(out, &chunk)
                .await
                .map_err(|e| GraphError::Local(e.to_string()))?;
        }
        tokio::io::AsyncWriteExt::flush(out)
            .await
            .map_err(|e| GraphError::Local(e.to_string()))?;
        Ok(written)
    }
}

async fn api_result(resp: reqwest::Response) -> Result<bytes::Bytes, GraphError> {
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| GraphError::Transport(without_url(&e)))?;
    if status.is_success() {
        return Ok(body);
    }
    match serde_json::from_slice::<ErrorEnvelope>(&body) {
        Ok(env) => Err(GraphError::Api {
            code: env.error.code,
            message: env.error.message,
        }),
        Err(_) => Err(GraphError::Api {
            code: status.as_u16() as i64,
            message: format!("HTTP {status}"),
        }),
    }
}

/// Meta's hosts for media downloads; the token may go to these only (over https).
const META_MEDIA_HOSTS: &[&str] = &[".fbcdn.net", ".fbsbx.com", ".whatsapp.net", ".facebook.com"];

/// Whether a media URL the Graph API answered may be fetched with the access token: `https` on
/// one of Meta's media hosts when the configured Graph API is Meta's (`*.facebook.com`);
/// otherwise (the simulator) only the configured Graph URL's own scheme, host and port. Anything
/// else (another host, a lookalike such as `fbcdn.net.example.com`, plain `http`) is refused.
pub fn media_url_allowed(url: &str, graph_base: &str) -> bool {
    let (Ok(url), Ok(graph)) = (reqwest::Url::parse(url), reqwest::Url::parse(graph_base)) else {
        return false;
    };
    if https_on(&graph, &[".facebook.com"]) {
        https_on(&url, META_MEDIA_HOSTS)
    } else {
        url.scheme() == graph.scheme()
            && url.host_str() == graph.host_str()
            && url.port_or_known_default() == graph.port_or_known_default()
    }
}

/// `https` on the default port, on a domain ending in one of `suffixes`.
fn https_on(url: &reqwest::Url, suffixes: &[&str]) -> bool {
    url.scheme() == "https"
        && url.port_or_known_default() == Some(443)
        && url
            .domain()
            .is_some_and(|h| suffixes.iter().any(|s| h.ends_with(s)))
}

/// reqwest errors print the URL, which may carry query secrets in media URLs: strip it.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "<url>");
    }
    s
}

/// The Graph API body for a send. `to` is a phone number or, for customers known only by
/// username, a BSUID sent as `recipient` (Meta's 2026 form).
pub fn send_payload(
    req: &SendRequest,
    to: &str,
    to_is_bsuid: bool,
    reply_wamid: Option<&str>,
) -> Value {
    let mut body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual" });
    if to_is_bsuid {
        body["recipient"] = json!(to);
    } else {
        body["to"] = json!(format!("+{}", to.trim_start_matches('+')));
    }
    body["type"] = json!(req.type_name());
    match req {
        SendRequest::Text {
            text, preview_url, ..
        } => {
            body["text"] = json!({ "body": text, "preview_url": preview_url });
        }
        SendRequest::Template { template, .. } => {
            let mut t = json!({ "name": template.name, "language": { "code": template.language } });
            let text_params = |list: &[String]| -> Vec<Value> {
                list.iter()
                    .map(|p| json!({ "type": "text", "text": p }))
                    .collect()
            };
            let mut components = Vec::new();
            if !template.header_parameters.is_empty() {
                components.push(json!({ "type": "header", "parameters": text_params(&template.header_parameters) }));
            }
            if !template.parameters.is_empty() {
                components.push(
                    json!({ "type": "body", "parameters": text_params(&template.parameters) }),
                );
            }
            if !components.is_empty() {
                t["components"] = json!(components);
            }
            body["template"] = t;
        }
        SendRequest::Image {
            link,
            media_id,
            caption,
            ..
        } => {
            let mut o = media_ref(link, media_id.as_deref());
            if let Some(c) = caption {
                o["caption"] = json!(c);
            }
            body["image"] = o;
        }
        SendRequest::Document {
            link,
            media_id,
            filename,
            caption,
            ..
        } => {
            let mut o = media_ref(link, media_id.as_deref());
            if let Some(c) = caption {
                o["caption"] = json!(c);
            }
            if let Some(f) = filename {
                o["filename"] = json!(f);
            }
            body["document"] = o;
        }
    }
    if let Some(w) = reply_wamid {
        body["context"] = json!({ "message_id": w });
    }
    body
}

/// An uploaded file by its id, otherwise a link WhatsApp fetches.
fn media_ref(link: &str, media_id: Option<&str>) -> Value {
    match media_id {
        Some(id) => json!({ "id": id }),
        None => json!({ "link": link }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::api::TemplateSend;

    #[test]
    fn the_token_goes_to_metas_media_hosts_only() {
        let meta = "https://graph.facebook.com";
        for ok in [
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2",
            "https://scontent.xx.fbcdn.net/v/t61/abc.jpg?x=1",
            "https://mmg.whatsapp.net/d/f/abc.enc",
            "https://lookaside.facebook.com/x",
            "https://LOOKASIDE.FBSBX.COM/x",
            "https://lookaside.fbsbx.com:443/x",
        ] {
            assert!(media_url_allowed(ok, meta), "{ok}");
        }
        for bad in [
            "http://lookaside.fbsbx.com/x",
            "https://fbcdn.net.evil.com/x",
            "https://evilfbcdn.net/x",
            "https://fbcdn.net/x",
            "https://lookaside.fbsbx.com.evil.com/x",
            "https://lookaside.fbsbx.com:8443/x",
            "https://lookaside.fbsbx.com@evil.com/x",
            "https://evil.com/?u=https://lookaside.fbsbx.com/",
            "https://127.0.0.1/x",
            "ftp://lookaside.fbsbx.com/x",
            "not a url",
            "",
        ] {
            assert!(!media_url_allowed(bad, meta), "{bad}");
        }
        // A Graph URL that is not Meta's (the simulator): its own scheme, host and port only;
        // Meta's hosts do not get the simulator's token either.
        let sim = "http://127.0.0.1:4010";
        assert!(media_url_allowed(
            "http://127.0.0.1:4010/media-download/abc",
            sim
        ));
        for bad in [
            "http://127.0.0.1:4011/media-download/abc",
            "https://127.0.0.1:4010/media-download/abc",
            "http://localhost:4010/media-download/abc",
            "http://evil.com/media-download/abc",
            "https://lookaside.fbsbx.com/x",
        ] {
            assert!(!media_url_allowed(bad, sim), "{bad}");
        }
        // A lookalike Graph host is not Meta's either, and an unparsable one allows nothing.
        assert!(!media_url_allowed(
            "https://lookaside.fbsbx.com/x",
            "https://graph.facebook.com.evil.com"
        ));
        assert!(!media_url_allowed("https://lookaside.fbsbx.com/x", "nope"));
    }

    #[test]
    fn payload_shapes_follow_meta() {
        let p = send_payload(
            &SendRequest::Text {
                text: "Hallo".into(),
                preview_url: false,
                reply_to: None,
            },
            "4915112345678",
            false,
            Some("wamid.X"),
        );
        assert_eq!(p["to"], "+4915112345678");
        assert_eq!(p["text"]["body"], "Hallo");
        assert_eq!(p["context"]["message_id"], "wamid.X");
        let p = send_payload(
            &SendRequest::Template {
                template: TemplateSend {
                    name: "order_update".into(),
                    language: "de".into(),
                    parameters: vec!["Ana".into(), "42".into()],
                    header_parameters: Vec::new(),
                },
                reply_to: None,
            },
            "DE.123",
            true,
            None,
        );
        assert_eq!(p["recipient"], "DE.123");
        assert!(p.get("to").is_none());
        assert_eq!(p["template"]["language"]["code"], "de");
        assert_eq!(
            p["template"]["components"][0]["parameters"][1]["text"],
            "42"
        );
        assert_eq!(p["template"]["components"].as_array().unwrap().len(), 1);
        // Header parameters go first, in a `header` component of text parameters.
        let p = send_payload(
            &SendRequest::Template {
                template: TemplateSend {
                    name: "shipping_update".into(),
                    language: "de".into(),
                    parameters: vec!["Ana".into()],
                    header_parameters: vec!["A-42".into()],
                },
                reply_to: None,
            },
            "4915112345678",
            false,
            None,
        );
        assert_eq!(
            p["template"]["components"],
            serde_json::json!([
                {"type": "header", "parameters": [{"type": "text", "text": "A-42"}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}
            ])
        );
    }
}
