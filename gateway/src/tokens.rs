//! `sluss api-token ...`: tokens for booking systems.

use sluss_signaling::api::SCOPES;
use sluss_signaling::secret::{random_id, Secret};
use sluss_signaling::store::AuditEvent;

use crate::config::Config;
use crate::TokenCommand;

pub fn run(config: &Config, command: TokenCommand) -> std::process::ExitCode {
    crate::state::run_command(async {
        run_async(config, command)
            .await
            .map(|()| std::process::ExitCode::SUCCESS)
    })
}

async fn run_async(
    config: &Config,
    command: TokenCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = crate::state::open_existing(config).await?;
    let now = sluss_signaling::unix_now();
    match command {
        TokenCommand::Create { name, scopes } => {
            for s in &scopes {
                if !SCOPES.contains(&s.as_str()) {
                    return Err(
                        format!("unknown scope {s:?}; use one of {}", SCOPES.join(", ")).into(),
                    );
                }
            }
            if name.trim().is_empty() || name.len() > 100 {
                return Err("--name must be 1 to 100 characters".into());
            }
            let token = Secret::generate();
            let id = random_id("t_");
            store
                .create_api_token(&id, name.trim(), &token.hash(), &scopes, now)
                .await?;
            store
                .audit(
                    AuditEvent {
                        event: "api_token_created",
                        actor: Some("cli".into()),
                        subject: Some(id.clone()),
                        details: serde_json::json!({ "name": name.trim(), "scopes": scopes }),
                        ..AuditEvent::default()
                    },
                    now,
                )
                .await?;
            println!("id:    {id}");
            println!("token: {}", token.expose());
            println!("Give the token to the booking system now; it is not shown again.");
        }
        TokenCommand::List => {
            println!(
                "{:<24} {:<10} {:<20} {:<40} name",
                "id", "state", "created (UTC)", "scopes"
            );
            for t in store.list_api_tokens().await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{:<24} {:<10} {:<20} {:<40} {}",
                    t.id,
                    state,
                    utc(t.created_at),
                    t.scopes,
                    t.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke_api_token(&id, now).await? {
                return Err(format!("no live token with id {id}").into());
            }
            store
                .audit(
                    AuditEvent {
                        event: "api_token_revoked",
                        actor: Some("cli".into()),
                        subject: Some(id.clone()),
                        ..AuditEvent::default()
                    },
                    now,
                )
                .await?;
            println!("revoked {id}");
        }
    }
    store.close().await;
    Ok(())
}

/// Unix seconds as `YYYY-MM-DD hh:mm` in UTC.
pub(crate) fn utc(secs: i64) -> String {
    let (year, month, day) = sluss_signaling::civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3_600,
        rest % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00");
        assert_eq!(super::utc(1_796_601_600), "2026-12-07 00:00");
        assert_eq!(super::utc(951_782_400 + 3_660), "2000-02-29 01:01");
    }
}
