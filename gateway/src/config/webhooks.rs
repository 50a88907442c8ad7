//! `[webhooks]`: the booking and journal systems that get signed webhooks.

use serde::{Deserialize, Serialize};
use sluss_signaling::webhooks::{parse_secret, Endpoint, TYPES};

/// At most this many endpoints.
const MAX_ENDPOINTS: usize = 10;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksSection {
    pub endpoints: Vec<WebhookEndpoint>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// A short name for logs and metrics: letters, digits, `-`, `_`.
    pub name: String,
    /// https, or http on loopback.
    pub url: String,
    /// `whsec_` and base64 (the Standard Webhooks form); better from `secret_file`.
    #[serde(default, serialize_with = "super::redacted")]
    pub secret: String,
    /// A file holding the secret (a systemd credential).
    #[serde(default)]
    pub secret_file: String,
    /// The types it receives; all when left out.
    #[serde(default = "all_types")]
    pub events: Vec<String>,
}

fn all_types() -> Vec<String> {
    TYPES.map(String::from).to_vec()
}

impl WebhooksSection {
    /// The endpoints, checked; secrets read from their files.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>, String> {
        if self.endpoints.len() > MAX_ENDPOINTS {
            return Err(format!("webhooks: at most {MAX_ENDPOINTS} endpoints"));
        }
        let mut out: Vec<Endpoint> = Vec::new();
        for e in &self.endpoints {
            let name = e.name.trim();
            let valid = (1..=40).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(format!(
                    "webhooks: endpoint name {name:?}: 1 to 40 letters, digits, - or _"
                ));
            }
            if out.iter().any(|o| o.name == name) {
                return Err(format!("webhooks: two endpoints named {name}"));
            }
            let url =
                url::Url::parse(&e.url).map_err(|err| format!("webhooks.{name}.url: {err}"))?;
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                return Err(format!(
                    "webhooks.{name}.url must be https (http only on loopback)"
                ));
            }
            let secret = match (e.secret.trim(), e.secret_file.trim()) {
                ("", "") => {
                    return Err(format!(
                        "webhooks.{name}: secret or secret_file is required"
                    ))
                }
                (s, "") => s.to_owned(),
                ("", path) => std::fs::read_to_string(path)
                    .map_err(|err| format!("webhooks.{name}.secret_file {path}: {err}"))?,
                _ => return Err(format!("webhooks.{name}: secret or secret_file, not both")),
            };
            let secret =
                parse_secret(&secret).map_err(|err| format!("webhooks.{name}.secret: {err}"))?;
            if e.events.is_empty() || e.events.iter().any(|t| !TYPES.contains(&t.as_str())) {
                return Err(format!(
                    "webhooks.{name}.events must be some of {}",
                    TYPES.join(", ")
                ));
            }
            out.push(Endpoint {
                name: name.to_owned(),
                url: e.url.clone(),
                secret,
                events: e.events.clone(),
            });
        }
        Ok(out)
    }
}
