//! `sluss audit ...` and the daily retention run.

use std::time::Duration;

use sluss_signaling::store::{AuditEvent, ChainCheck, Store};
use tracing::{error, info};

use crate::config::Config;
use crate::AuditCommand;

pub fn run(config: &Config, command: AuditCommand) -> std::process::ExitCode {
    crate::state::run_command(run_async(config, command))
}

async fn run_async(
    config: &Config,
    command: AuditCommand,
) -> Result<std::process::ExitCode, Box<dyn std::error::Error>> {
    let store = crate::state::open_existing(config).await?;
    let code = match command {
        AuditCommand::Verify => match store.verify_audit_chain().await? {
            ChainCheck::Intact { entries } => {
                println!("audit chain intact: {entries} entries");
                std::process::ExitCode::SUCCESS
            }
            ChainCheck::BrokenAt { seq } => {
                println!("audit chain BROKEN at entry {seq}: it was changed, or one before it was");
                std::process::ExitCode::from(1)
            }
        },
        AuditCommand::Export {
            meeting,
            person,
            from,
            to,
            format,
            reader,
        } => {
            if !matches!(format.as_str(), "json" | "csv") {
                return Err("--format is json or csv".into());
            }
            let entries = store
                .audit_entries(meeting.as_deref(), person.as_deref(), from, to)
                .await?;
            // Every read of the trail is itself in the trail.
            store
                .audit(
                    AuditEvent {
                        meeting_id: meeting.clone(),
                        event: "audit_read",
                        actor: Some(format!("cli:{reader}")),
                        subject: person.clone(),
                        details: serde_json::json!({
                            "from": from, "to": to, "format": format, "entries": entries.len(),
                        }),
                    },
                    sluss_signaling::unix_now(),
                )
                .await?;
            if format == "json" {
                for e in &entries {
                    println!("{}", serde_json::to_string(e)?);
                }
            } else {
                print!("{}", sluss_signaling::api::audit::to_csv(&entries));
            }
            std::process::ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

/// Removes audit entries older than the retention period now and once a day.
pub fn start_retention(store: Store, retention_days: u64) {
    let secs = (retention_days.saturating_mul(24 * 3600)).min(i64::MAX as u64) as i64;
    tokio::spawn(async move {
        loop {
            match store
                .apply_audit_retention(secs, sluss_signaling::unix_now())
                .await
            {
                Ok(0) => {}
                Ok(n) => info!(
                    removed = n,
                    "audit entries past their retention period removed"
                ),
                Err(e) => error!(error = %e, "audit retention failed"),
            }
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        }
    });
}
