//! HTTP and WebSocket access to the relay. Errors become [`SyncError`]s: network trouble is
//! `Offline`, 401 is `AuthExpired`, other refusals carry the relay's `{code, message}`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use switchboard_protocol::api::{
    AgentPresence, AgentStatus, AssignRequest, Conversation, Directory, ErrorBody, LoginRequest,
    LoginResponse, Message, MessagePage, Monitor, Note, NoteRequest, SendRequest, StatusRequest,
    Tags,
};

use crate::cache::raw::RawEventPage;

use crate::error::{Result, SyncError};

/// The wire types this client reads, from the protocol crate (their one home).
pub use switchboard_protocol::api::{Template, Uploaded};

#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl RelayClient {
    pub fn new(base: &str, token: Option<String>) -> Result<RelayClient> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SyncError::Invalid(format!(
                "relay URL {base:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("switchboard-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(RelayClient { http, base, token })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    fn token(&self) -> Result<&str> {
        self.token.as_deref().ok_or(SyncError::NotSignedIn)
    }

    async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| SyncError::Protocol(e.to_string()));
        }
        if status.as_u16() == 401 {
            // Why the session ended decides what happens to the cache.
            let deactivated = serde_json::from_slice::<ErrorBody>(&body)
                .is_ok_and(|e| e.code == "account_deactivated");
            return Err(if deactivated {
                SyncError::Deactivated
            } else {
                SyncError::AuthExpired
            });
        }
        let err: ErrorBody = serde_json::from_slice(&body).unwrap_or(ErrorBody {
            code: format!("http_{}", status.as_u16()),
            message: format!("the relay answered HTTP {status}"),
            field: None,
        });
        Err(SyncError::Relay {
            status: status.as_u16(),
            code: err.code,
            message: err.message,
        })
    }

    fn offline(e: reqwest::Error) -> SyncError {
        SyncError::Offline(e.without_url().to_string())
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse> {
        let resp = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&LoginRequest {
                email: email.into(),
                password: password.into(),
            })
            .send()
            .await
            .map_err(Self::offline)?;
        if resp.status().as_u16() == 401 {
            let err: ErrorBody = resp.json().await.map_err(Self::offline)?;
            return Err(SyncError::Relay {
                status: 401,
                code: err.code,
                message: err.message,
            });
        }
        Self::decode(resp).await
    }

    pub async fn logout(&self) -> Result<()> {
        let resp = self
            .http
            .post(format!("{}/api/v1/auth/logout", self.base))
            .bearer_auth(self.token()?)
            .send()
            .await
            .map_err(Self::offline)?;
        if resp.status().is_success() || resp.status().as_u16() == 401 {
            Ok(())
        } else {
            Self::decode::<serde_json::Value>(resp).await.map(|_| ())
        }
    }

    pub async fn events(&self, after: i64, limit: usize) -> Result<RawEventPage> {
        let resp = self
            .http
            .get(format!(
                "{}/api/v1/events?after={after}&limit={limit}",
                self.base
            ))
            .bearer_auth(self.token()?)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    /// Sends with the outbox row's client id as Idempotency-Key.
    pub async fn send(
        &self,
        conversation_id: i64,
        req: &SendRequest,
        key: &str,
    ) -> Result<Message> {
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/conversations/{conversation_id}/messages",
                self.base
            ))
            .bearer_auth(self.token()?)
            .header("Idempotency-Key", key)
            .json(req)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    pub async fn mark_read(&self, conversation_id: i64) -> Result<()> {
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/conversations/{conversation_id}/read",
                self.base
            ))
            .bearer_auth(self.token()?)
            .json(&serde_json::json!({}))
            .send()
            .await
            .map_err(Self::offline)?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Self::decode::<serde_json::Value>(resp).await.map(|_| ())
        }
    }

    /// The approved and pending message templates of a business number's account
    /// (`GET /api/v1/templates`), for the template picker once the 24-hour window is closed.
    pub async fn templates(&self, phone_number_id: &str) -> Result<Vec<Template>> {
        let resp = self
            .http
            .get(format!("{}/api/v1/templates", self.base))
            .query(&[("phone_number_id", phone_number_id)])
            .bearer_auth(self.token()?)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    /// The media file of an inbound message through the relay: (content type, bytes).
    pub async fn media(&self, message_id: i64) -> Result<(String, Vec<u8>)> {
        let resp = self.media_response(message_id).await?;
        let mime = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = resp.bytes().await.map_err(Self::offline)?;
        Ok((mime, bytes.to_vec()))
    }

    /// The relay's answer for a message's file, its status checked, its body not yet read (to
    /// stream it somewhere: [`crate::download::save_media`]).
    pub async fn media_response(&self, message_id: i64) -> Result<reqwest::Response> {
        self.get_response(&format!("/api/v1/messages/{message_id}/media"))
            .await
    }

    /// `GET {path}` with the bearer token: the answer, its status checked (a refusal is the
    /// relay's error), its body not yet read.
    pub async fn get_response(&self, path: &str) -> Result<reqwest::Response> {
        self.get_response_with(path, &[] as &[(&str, &str)]).await
    }

    /// [`get_response`](Self::get_response) with a query string from `query`.
    pub async fn get_response_with<Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<reqwest::Response> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(self.token()?)
            .send()
            .await
            .map_err(Self::offline)?;
        if !resp.status().is_success() {
            let status = resp.status();
            return Err(Self::decode::<serde_json::Value>(resp)
                .await
                .err()
                .unwrap_or_else(|| SyncError::Protocol(format!("{path} answered HTTP {status}"))));
        }
        Ok(resp)
    }

    /// Uploads a file to send in a conversation (`POST /api/v1/conversations/{id}/media`); send
    /// it afterwards with `SendRequest::Image` / `Document` and the answered `media_id`. Needs the
    /// relay: a file is not queued offline.
    pub async fn upload_media(
        &self,
        conversation_id: i64,
        bytes: Vec<u8>,
        mime: &str,
        filename: &str,
    ) -> Result<Uploaded> {
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/conversations/{conversation_id}/media",
                self.base
            ))
            .query(&[("filename", filename)])
            .bearer_auth(self.token()?)
            .header(reqwest::header::CONTENT_TYPE, mime)
            .timeout(Duration::from_secs(120))
            .body(bytes)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    /// A page of a conversation's messages as the relay has them, oldest first, older than
    /// `before` (a message id).
    pub async fn messages(
        &self,
        conversation_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<MessagePage> {
        let mut path = format!("/api/v1/conversations/{conversation_id}/messages?limit={limit}");
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        self.get_json(&path).await
    }

    /// Opens the live stream after `after`.
    pub async fn stream(&self, after: i64) -> Result<WsStream> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!(
            "{}/api/v1/stream?after={after}",
            self.base.replacen("http", "ws", 1)
        );
        let mut req = url
            .into_client_request()
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token()?)
                .parse()
                .map_err(|_| SyncError::Invalid("token is not a valid header".into()))?,
        );
        match tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(req),
        )
        .await
        {
            Err(_) => Err(SyncError::Offline("stream connection timed out".into())),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp)))
                if resp.status().as_u16() == 401 =>
            {
                Err(SyncError::AuthExpired)
            }
            Ok(Err(e)) => Err(SyncError::Offline(e.to_string())),
        }
    }

    // ------------------------------------------------------------ team work (not cached writes)

    /// `GET {path}` with the bearer token, decoded.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token()?)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    /// `{method} {path}` with a JSON body and the bearer token, decoded.
    pub async fn call_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token()?)
            .json(body)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    /// `{method} {path}` without a body (a `DELETE` that answers what it removed), decoded.
    pub async fn call_json_no_body<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<T> {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token()?)
            .send()
            .await
            .map_err(Self::offline)?;
        Self::decode(resp).await
    }

    /// `{method} {path}` (with a JSON body, if any) answered 204 No Content.
    pub async fn call_no_content<B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token()?);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(Self::offline)?;
        if resp.status().is_success() {
            return Ok(());
        }
        Self::decode::<serde_json::Value>(resp).await.map(|_| ())
    }

    /// Assigns to an agent or routes within a team (`POST /api/v1/conversations/{id}/assign`):
    /// "assign to me" is `agent_id` = own id; a transfer names a colleague or a team.
    pub async fn assign(&self, conversation_id: i64, req: &AssignRequest) -> Result<Conversation> {
        self.call_json(
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{conversation_id}/assign"),
            req,
        )
        .await
    }

    pub async fn resolve(&self, conversation_id: i64) -> Result<Conversation> {
        self.call_json(
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{conversation_id}/resolve"),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn reopen(&self, conversation_id: i64) -> Result<Conversation> {
        self.call_json(
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{conversation_id}/reopen"),
            &serde_json::json!({}),
        )
        .await
    }

    /// The status the person sets (`PUT /api/v1/me/status`): the desktop app reports `away`
    /// while the OS session is idle or locked.
    pub async fn set_status(&self, status: AgentStatus) -> Result<AgentPresence> {
        self.call_json(
            reqwest::Method::PUT,
            "/api/v1/me/status",
            &StatusRequest { status },
        )
        .await
    }

    /// The supervisor snapshot (`GET /api/v1/monitor`; supervisors and admins).
    pub async fn monitor(&self) -> Result<Monitor> {
        self.get_json("/api/v1/monitor").await
    }

    /// Colleagues and teams to transfer to (`GET /api/v1/directory`).
    pub async fn directory(&self) -> Result<Directory> {
        self.get_json("/api/v1/directory").await
    }

    /// Replaces a customer's tags; the change reaches every cache through the event log.
    pub async fn set_tags(&self, contact_id: i64, tags: &[String]) -> Result<Vec<String>> {
        let t: Tags = self
            .call_json(
                reqwest::Method::PUT,
                &format!("/api/v1/contacts/{contact_id}/tags"),
                &Tags {
                    tags: tags.to_vec(),
                },
            )
            .await?;
        Ok(t.tags)
    }

    /// Writes an internal note on a customer; it reaches every cache through the event log.
    pub async fn add_note(&self, contact_id: i64, text: &str) -> Result<Note> {
        self.call_json(
            reqwest::Method::POST,
            &format!("/api/v1/contacts/{contact_id}/notes"),
            &NoteRequest { text: text.into() },
        )
        .await
    }
}
