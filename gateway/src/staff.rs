//! `sluss staff ...`: staff accounts from the command line, as the service's user. The same
//! changes as the administration page, audited with the command line as the actor; and the
//! break-glass path: `sluss staff invite --role admin` makes an administrator's enrolment link
//! when no administrator can log in.

use sluss_meeting::DisplayName;
use sluss_signaling::secret::Secret;
use sluss_signaling::store::{AccountChange, AccountRefusal, AuditEvent, Store};

use crate::config::Config;
use crate::tokens::utc;
use crate::StaffCommand;

const ROLES: [&str; 3] = ["staff", "admin", "auditor"];
const ENROLLMENT_TTL_SECS: i64 = 7 * 24 * 3600;

type BoxError = Box<dyn std::error::Error>;

pub fn run(config: &Config, command: StaffCommand) -> std::process::ExitCode {
    crate::state::run_command(async {
        run_async(config, command)
            .await
            .map(|()| std::process::ExitCode::SUCCESS)
    })
}

async fn run_async(config: &Config, command: StaffCommand) -> Result<(), BoxError> {
    let store = crate::state::open_existing(config).await?;
    let now = sluss_signaling::unix_now();
    let public_url = config.public_url();
    match command {
        StaffCommand::List => list(&store, now).await?,
        StaffCommand::Invite {
            username,
            name,
            roles,
        } => {
            let username = username.trim().to_lowercase();
            if !sluss_signaling::valid_username(&username) {
                return Err(
                    "--username: 2 to 64 letters, digits, dots, dashes or underscores".into(),
                );
            }
            check_roles(&roles)?;
            let name = DisplayName::parse(&name).map_err(|e| format!("--name: {e}"))?;
            if store.find_account(&username).await?.is_some() {
                return Err(format!("there is already an account {username}").into());
            }
            let token = Secret::generate();
            let roles_ref: Vec<&str> = roles.iter().map(String::as_str).collect();
            store
                .create_enrollment(
                    &token.hash(),
                    Some(&username),
                    Some(name.expose()),
                    &roles_ref,
                    now,
                    now + ENROLLMENT_TTL_SECS,
                )
                .await?;
            let details = serde_json::json!({ "username": username, "roles": roles });
            audit(&store, "staff_invited", &username, details, now).await?;
            println!("{public_url}/setup#{}", token.expose());
            println!(
                "Give this one-time link (valid 7 days) to {username}; it is not shown again."
            );
        }
        StaffCommand::Disable { user } => {
            let id = account_id(&store, &user).await?;
            let change = store.set_account_disabled(&id, true, now).await?;
            done(
                &store,
                change,
                "staff_disabled",
                &id,
                serde_json::json!({}),
                now,
            )
            .await?;
            println!("disabled {user}: its sessions have ended; its meeting connections lose staff rights within 15 s");
        }
        StaffCommand::Enable { user } => {
            let id = account_id(&store, &user).await?;
            let change = store.set_account_disabled(&id, false, now).await?;
            done(
                &store,
                change,
                "staff_enabled",
                &id,
                serde_json::json!({}),
                now,
            )
            .await?;
            println!("enabled {user}");
        }
        StaffCommand::Unlock { user } => {
            let id = account_id(&store, &user).await?;
            let change = store.unlock_account(&id).await?;
            done(
                &store,
                change,
                "staff_unlocked",
                &id,
                serde_json::json!({}),
                now,
            )
            .await?;
            println!("unlocked {user}");
        }
        StaffCommand::SetRoles { user, roles } => {
            check_roles(&roles)?;
            let id = account_id(&store, &user).await?;
            let change = store.set_account_roles(&id, &roles).await?;
            let details = serde_json::json!({ "roles": roles });
            done(&store, change, "staff_roles_changed", &id, details, now).await?;
            println!("{user} is now: {}", roles.join(" "));
        }
        StaffCommand::ResetAuthenticator { user } => {
            let id = account_id(&store, &user).await?;
            let token = Secret::generate();
            let change = store
                .reset_authenticator(&id, &token.hash(), now, now + ENROLLMENT_TTL_SECS)
                .await?;
            let details = serde_json::json!({});
            done(
                &store,
                change,
                "staff_authenticator_reset",
                &id,
                details,
                now,
            )
            .await?;
            println!("{public_url}/setup#{}", token.expose());
            println!(
                "With this one-time link (valid 7 days) {user} sets a new password and \
                 authenticator; it is not shown again."
            );
        }
    }
    store.close().await;
    Ok(())
}

async fn list(store: &Store, now: i64) -> Result<(), BoxError> {
    println!(
        "{:<24} {:<20} {:<22} {:<10} {:<17} {:<17} name",
        "id", "username", "roles", "state", "created (UTC)", "last login (UTC)"
    );
    for a in store.list_accounts().await? {
        let state = if a.disabled_at.is_some() {
            "disabled"
        } else if a.locked_until.is_some_and(|t| t > now) {
            "locked"
        } else {
            "active"
        };
        let username = if a.external {
            "(identity provider)"
        } else {
            a.username.as_str()
        };
        println!(
            "{:<24} {:<20} {:<22} {:<10} {:<17} {:<17} {}",
            a.id,
            username,
            a.roles.join(" "),
            state,
            utc(a.created_at),
            a.last_login_at.map_or_else(|| "never".to_owned(), utc),
            a.display_name
        );
    }
    Ok(())
}

fn check_roles(roles: &[String]) -> Result<(), BoxError> {
    if roles.is_empty() || roles.iter().any(|r| !ROLES.contains(&r.as_str())) {
        return Err(format!("--role must be some of {}", ROLES.join(", ")).into());
    }
    Ok(())
}

/// The id of the account named by its id or username.
async fn account_id(store: &Store, user: &str) -> Result<String, BoxError> {
    match store.find_account(user).await? {
        Some(a) => Ok(a.id),
        None => Err(format!("no account {user} (see: sluss staff list)").into()),
    }
}

async fn done(
    store: &Store,
    change: AccountChange,
    event: &'static str,
    id: &str,
    details: serde_json::Value,
    now: i64,
) -> Result<(), BoxError> {
    change.map_err(|r| match r {
        AccountRefusal::NoSuchAccount => "no such account".to_owned(),
        AccountRefusal::LastAdministrator => {
            "that would leave no enabled administrator; give another account the admin role first \
             (or invite one: sluss staff invite --role admin ...)"
                .to_owned()
        }
        AccountRefusal::External => {
            "this account logs in through the identity provider; reset it there".to_owned()
        }
    })?;
    audit(store, event, id, details, now).await
}

async fn audit(
    store: &Store,
    event: &'static str,
    subject: &str,
    details: serde_json::Value,
    now: i64,
) -> Result<(), BoxError> {
    store
        .audit(
            AuditEvent {
                event,
                actor: Some("cli".into()),
                subject: Some(subject.to_owned()),
                details,
                ..AuditEvent::default()
            },
            now,
        )
        .await?;
    Ok(())
}
