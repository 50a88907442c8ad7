//! Staff administration: the accounts as an administrator sees them, and what an
//! administrator (or the operator at the command line) changes about them.

use sqlx::Row;

use super::staff::roles;
use super::{Store, StoreError};

/// An account as the administration page and `sluss staff list` show it (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountListing {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    /// Logs in through an identity provider (no password or authenticator here).
    pub external: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub disabled_at: Option<i64>,
    /// Locked after failed logins until then (may lie in the past: then it has expired).
    pub locked_until: Option<i64>,
}

/// Why an account change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AccountRefusal {
    NoSuchAccount,
    /// It would leave no enabled administrator.
    LastAdministrator,
    /// An identity provider's account has no password or authenticator here.
    External,
}

/// What an account change did: refused, or done with the session hashes it ended (their
/// meeting connections must lose staff rights at once).
pub type AccountChange = Result<Vec<Vec<u8>>, AccountRefusal>;

impl Store {
    pub async fn list_accounts(&self) -> Result<Vec<AccountListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username, display_name, roles, oidc_subject IS NOT NULL, created_at,
                    last_login_at, disabled_at, locked_until
             FROM users ORDER BY display_name COLLATE NOCASE, username",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AccountListing {
                id: r.get(0),
                username: r.get(1),
                display_name: r.get(2),
                roles: roles(r.get(3)),
                external: r.get(4),
                created_at: r.get(5),
                last_login_at: r.get(6),
                disabled_at: r.get(7),
                locked_until: r.get(8),
            })
            .collect())
    }

    /// The account with this id or username.
    pub async fn find_account(&self, key: &str) -> Result<Option<AccountListing>, StoreError> {
        let accounts = self.list_accounts().await?;
        Ok(accounts
            .into_iter()
            .find(|a| a.id == key || a.username == key.to_lowercase()))
    }

    /// Disables or enables an account. Disabling ends its sessions in the same transaction
    /// and is refused for the last enabled administrator.
    pub async fn set_account_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<AccountChange, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let Some((is_admin, enabled)) = admin_and_enabled(&mut tx, user_id).await? else {
            return Ok(Err(AccountRefusal::NoSuchAccount));
        };
        if disabled && enabled && is_admin && enabled_admins(&mut tx).await? <= 1 {
            return Ok(Err(AccountRefusal::LastAdministrator));
        }
        sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ?")
            .bind(disabled.then_some(now))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = if disabled {
            end_sessions(&mut tx, user_id).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(Ok(ended))
    }

    /// Lifts a lockout after failed logins.
    pub async fn unlock_account(&self, user_id: &str) -> Result<AccountChange, StoreError> {
        let n = sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(if n == 1 {
            Ok(Vec::new())
        } else {
            Err(AccountRefusal::NoSuchAccount)
        })
    }

    /// Gives an account these roles (already checked to be known ones). Refused when it
    /// would leave no enabled administrator. The account's sessions end: a session carries
    /// the roles it was opened with.
    pub async fn set_account_roles(
        &self,
        user_id: &str,
        new_roles: &[String],
    ) -> Result<AccountChange, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let Some((was_admin, enabled)) = admin_and_enabled(&mut tx, user_id).await? else {
            return Ok(Err(AccountRefusal::NoSuchAccount));
        };
        let stays_admin = new_roles.iter().any(|r| r == "admin");
        if was_admin && !stays_admin && enabled && enabled_admins(&mut tx).await? <= 1 {
            return Ok(Err(AccountRefusal::LastAdministrator));
        }
        sqlx::query("UPDATE users SET roles = ? WHERE id = ?")
            .bind(new_roles.join(" "))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = end_sessions(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(Ok(ended))
    }

    /// An enrolment link that gives a local account a new password and authenticator (the
    /// phone was lost): the account keeps its id, name and roles; its sessions end at once.
    /// Identity providers' accounts are refused.
    pub async fn reset_authenticator(
        &self,
        user_id: &str,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<AccountChange, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let Some(row) = sqlx::query(
            "SELECT username, display_name, roles, oidc_subject IS NOT NULL FROM users WHERE id = ?",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Err(AccountRefusal::NoSuchAccount));
        };
        if row.get::<bool, _>(3) {
            return Ok(Err(AccountRefusal::External));
        }
        sqlx::query(
            "INSERT INTO enrollments (token_hash, username, display_name, roles, created_at,
                                      expires_at, resets_user)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(row.get::<String, _>(0))
        .bind(row.get::<String, _>(1))
        .bind(row.get::<String, _>(2))
        .bind(now)
        .bind(expires_at)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        // A lost phone may be in someone else's hand: the account's sessions end now, not
        // only when the link is used.
        let ended = end_sessions(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(Ok(ended))
    }
}

/// Whether the account is an administrator and whether it is enabled; None: no such account.
async fn admin_and_enabled(
    tx: &mut sqlx::SqliteConnection,
    user_id: &str,
) -> Result<Option<(bool, bool)>, StoreError> {
    let row = sqlx::query("SELECT roles, disabled_at FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(row.map(|row| {
        let admin = roles(row.get(0)).iter().any(|r| r == "admin");
        (admin, row.get::<Option<i64>, _>(1).is_none())
    }))
}

async fn enabled_admins(tx: &mut sqlx::SqliteConnection) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM users
         WHERE disabled_at IS NULL AND (' ' || roles || ' ') LIKE '% admin %'",
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(row.get(0))
}

/// Deletes the account's sessions and gives their hashes.
async fn end_sessions(
    tx: &mut sqlx::SqliteConnection,
    user_id: &str,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let rows = sqlx::query("DELETE FROM sessions WHERE user_id = ? RETURNING token_hash")
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}
