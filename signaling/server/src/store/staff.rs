//! Staff accounts, enrolments and sessions.

use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub totp_secret: Vec<u8>,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub last_totp_step: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct EnrollmentRecord {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub totp_secret: Option<Vec<u8>>,
}

/// The staff member behind a session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

pub(super) fn roles(s: String) -> Vec<String> {
    s.split(' ')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store {
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<i64, _>(0) > 0)
    }

    /// An enrolment link: `username` unset lets the enrollee choose (the first administrator).
    pub async fn create_enrollment(
        &self,
        token_hash: &[u8],
        username: Option<&str>,
        display_name: Option<&str>,
        roles: &[&str],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO enrollments (token_hash, username, display_name, roles, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(username)
        .bind(display_name)
        .bind(roles.join(" "))
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces unused first-administrator enrolments (printed at start while nobody exists).
    pub async fn reset_first_enrollment(
        &self,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM enrollments WHERE used_at IS NULL AND username IS NULL")
            .execute(&self.pool)
            .await?;
        self.create_enrollment(token_hash, None, None, &["staff", "admin"], now, expires_at)
            .await
    }

    pub async fn enrollment(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<EnrollmentRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT username, display_name, roles, totp_secret FROM enrollments
             WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| EnrollmentRecord {
            username: r.get(0),
            display_name: r.get(1),
            roles: roles(r.get(2)),
            totp_secret: r.get(3),
        }))
    }

    /// Keeps the TOTP secret offered to the enrollee until they confirm it with a code.
    pub async fn set_enrollment_secret(
        &self,
        token_hash: &[u8],
        secret: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE enrollments SET totp_secret = ? WHERE token_hash = ? AND used_at IS NULL",
        )
        .bind(secret)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends the enrolment and creates the user in one transaction. False if it was spent
    /// meanwhile or the username is taken.
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_enrollment(
        &self,
        token_hash: &[u8],
        user_id: &str,
        username: &str,
        display_name: &str,
        password_hash: &str,
        totp_secret: &[u8],
        roles: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let spent = sqlx::query(
            "UPDATE enrollments SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent != 1 {
            return Ok(false);
        }
        let resets: Option<String> =
            sqlx::query("SELECT resets_user FROM enrollments WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
        if let Some(existing) = resets {
            // A reset: the same account gets the new password and authenticator; its old
            // sessions end, and a lockout is lifted.
            let n = sqlx::query(
                "UPDATE users SET password_hash = ?, totp_secret = ?, failed_logins = 0,
                 locked_until = NULL, last_totp_step = NULL
                 WHERE id = ? AND oidc_subject IS NULL",
            )
            .bind(password_hash)
            .bind(totp_secret)
            .bind(&existing)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(&existing)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(true);
        }
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, totp_secret, roles, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(username) DO NOTHING",
        )
        .bind(user_id)
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(totp_secret)
        .bind(roles.join(" "))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, display_name, password_hash, totp_secret, roles, disabled_at,
                    failed_logins, locked_until, last_totp_step FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| UserRecord {
            id: r.get(0),
            username: r.get(1),
            display_name: r.get(2),
            password_hash: r.get(3),
            totp_secret: r.get(4),
            roles: roles(r.get(5)),
            disabled: r.get::<Option<i64>, _>(6).is_some(),
            failed_logins: r.get(7),
            locked_until: r.get(8),
            last_totp_step: r.get(9),
        }))
    }

    /// A lock from failed logins (from one address) on this account, until `until`; the
    /// latest end of any address's lock is kept. An administrator's unlock clears it.
    pub async fn record_login_lock(&self, user_id: &str, until: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1,
                    locked_until = MAX(COALESCE(locked_until, 0), ?) WHERE id = ?",
        )
        .bind(until)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A successful login: resets the failures and remembers the TOTP step so that a code
    /// works once only (a lock another address earned stays, for its time). False when that step (or a later one) was already used.
    pub async fn record_login_success(
        &self,
        user_id: &str,
        totp_step: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE users SET failed_logins = 0, last_totp_step = ?
             WHERE id = ? AND (last_totp_step IS NULL OR last_totp_step < ?)",
        )
        .bind(totp_step)
        .bind(user_id)
        .bind(totp_step)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn create_session(
        &self,
        token_hash: &[u8],
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO sessions (token_hash, created_at, expires_at, user_id) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // Every login (a password and a code, or an identity provider) opens a session.
        sqlx::query("UPDATE users SET last_login_at = ? WHERE id = ?")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn session_user(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.display_name, u.roles FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SessionUser {
            user_id: r.get(0),
            display_name: r.get(1),
            roles: roles(r.get(2)),
        }))
    }

    /// The user an identity provider's subject is, created on the first login. The display name
    /// and roles follow the provider at every login; a disabled user stays disabled.
    /// Returns the user id, or `None` when the account is disabled here.
    pub async fn oidc_user(
        &self,
        issuer: &str,
        subject: &str,
        display_name: &str,
        roles: &[String],
        new_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing = sqlx::query(
            "SELECT id, disabled_at FROM users WHERE oidc_issuer = ? AND oidc_subject = ?",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await?;
        let id = match existing {
            Some(row) => {
                let id: String = row.get(0);
                let disabled: Option<i64> = row.get(1);
                if disabled.is_some() {
                    return Ok(None);
                }
                sqlx::query("UPDATE users SET display_name = ?, roles = ? WHERE id = ?")
                    .bind(display_name)
                    .bind(roles.join(" "))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => {
                // No password and no TOTP: the username is unguessable and a password login
                // against an empty hash always fails.
                sqlx::query(
                    "INSERT INTO users (id, username, display_name, password_hash, totp_secret, roles,
                                        created_at, oidc_issuer, oidc_subject)
                     VALUES (?, ?, ?, '', x'', ?, ?, ?, ?)",
                )
                .bind(new_id)
                .bind(format!("oidc:{new_id}"))
                .bind(display_name)
                .bind(roles.join(" "))
                .bind(now)
                .bind(issuer)
                .bind(subject)
                .execute(&mut *tx)
                .await?;
                new_id.to_owned()
            }
        };
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Disables an account: its sessions stop working and invitations can no longer name it.
    /// False when there is no such enabled account.
    pub async fn disable_user(&self, user_id: &str, now: i64) -> Result<bool, StoreError> {
        let n =
            sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL")
                .bind(now)
                .bind(user_id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n == 1)
    }
}
