//! Administrator accounts: creation (the first start's too), passwords,
//! roles, TOTP resets, enable/disable and API tokens. The CLI, the
//! dashboard and the API all change accounts through here, so the rules
//! (role separation, password strength) and the audit row are the same
//! whichever way in.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::audit::{Actor, Auditor, Outcome};
use crate::credentials;
use crate::domain::AdminRole;
use crate::store::admin_sessions::AdminToken;
use crate::store::{Store, StoreError};

/// The accounts of the first start with role separation.
pub const SEPARATED_ACCOUNTS: [(&str, AdminRole); 3] = [
    ("sysadmin", AdminRole::System),
    ("secadmin", AdminRole::Security),
    ("auditadmin", AdminRole::Audit),
];
/// The one account of the first start without it.
pub const SINGLE_ACCOUNT: &str = "admin";

/// Prefix of API tokens, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "pat_";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Rule(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// MLPS asks for complex administrator passwords: at least 12 characters
/// from at least three of lower case, upper case, digits and others, not
/// containing the account name.
pub fn check_admin_password(username: &str, password: &str) -> Result<(), AccountError> {
    if password.chars().count() < 12 {
        return Err(AccountError::Rule(
            "the password must be at least 12 characters".into(),
        ));
    }
    if password.len() > 128 {
        return Err(AccountError::Rule(
            "the password must be at most 128 bytes".into(),
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| {
            !c.is_alphanumeric() || (!c.is_lowercase() && !c.is_uppercase() && !c.is_ascii_digit())
        }),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(AccountError::Rule(
            "the password must mix at least three of: lower case, upper case, digits, other characters"
                .into(),
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AccountError::Rule(
            "the password must not contain the account name".into(),
        ));
    }
    Ok(())
}

/// argon2id, off the async threads.
pub async fn hash(password: &str) -> Result<String, AccountError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || credentials::hash_password(&pw))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// SHA-256 (hex) of a session id or API token: what the store keeps.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random secret for cookies and tokens: 32 bytes, URL-safe.
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether a role may be given with role separation on or off.
pub fn check_role_allowed(role: AdminRole, role_separation: bool) -> Result<(), AccountError> {
    if role_separation && role == AdminRole::Admin {
        return Err(AccountError::Rule(
            "the role admin (every right) exists only with admin.role_separation = false; \
             give system, security, audit or operator"
                .into(),
        ));
    }
    Ok(())
}

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    audit: Auditor,
    role_separation: bool,
}

/// An account made at first start, with its one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub username: String,
    pub role: AdminRole,
    pub password: String,
}

impl Accounts {
    pub fn new(store: Store, audit: Auditor, role_separation: bool) -> Accounts {
        Accounts {
            store,
            audit,
            role_separation,
        }
    }

    pub fn audit(&self) -> &Auditor {
        &self.audit
    }

    /// On the first start (no account yet): sysadmin, secadmin and
    /// auditadmin, or one admin, each with a generated password that must
    /// be changed at the first sign-in. Empty when accounts exist (or
    /// another node made them first).
    pub async fn ensure_initial(&self) -> Result<Vec<Created>, AccountError> {
        if self.store.admins().count().await? > 0 {
            return Ok(Vec::new());
        }
        let wanted: Vec<(&str, AdminRole)> = if self.role_separation {
            SEPARATED_ACCOUNTS.to_vec()
        } else {
            vec![(SINGLE_ACCOUNT, AdminRole::Admin)]
        };
        let mut created = Vec::new();
        for (name, role) in wanted {
            let password = credentials::generate_password();
            let phc = hash(&password).await?;
            match self.store.admins().create(name, &phc, role).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            self.audit
                .record(
                    &Actor::portico(),
                    "admin.create",
                    name,
                    Outcome::Ok,
                    json!({"role": role.as_str(), "first_start": true}),
                )
                .await?;
            created.push(Created {
                username: name.to_string(),
                role,
                password,
            });
        }
        Ok(created)
    }

    pub async fn add(
        &self,
        actor: &Actor,
        username: &str,
        role: AdminRole,
        password: &str,
    ) -> Result<(), AccountError> {
        check_role_allowed(role, self.role_separation)?;
        check_admin_password(username, password)?;
        let phc = hash(password).await?;
        self.store.admins().create(username, &phc, role).await?;
        self.audit
            .record(
                actor,
                "admin.create",
                username,
                Outcome::Ok,
                json!({"role": role.as_str()}),
            )
            .await?;
        Ok(())
    }

    /// Sets a password. `temporary`: set by someone else (the security
    /// administrator), so it must be changed at the next sign-in. Ends the
    /// account's sessions either way.
    pub async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        temporary: bool,
    ) -> Result<(), AccountError> {
        check_admin_password(username, password)?;
        let phc = hash(password).await?;
        self.store
            .admins()
            .set_password(username, &phc, temporary)
            .await?;
        let ended = self.store.admin_sessions().delete_for(username).await?;
        // A reset by someone else also ends the account's API tokens: the
        // one who reset it must not keep a way in as that account.
        let revoked = if temporary {
            self.store
                .admin_sessions()
                .revoke_all_tokens(username, crate::clock::now_ms())
                .await?
        } else {
            0
        };
        self.audit
            .record(
                actor,
                "admin.passwd",
                username,
                Outcome::Ok,
                json!({"must_change": temporary, "sessions_ended": ended, "tokens_revoked": revoked}),
            )
            .await?;
        Ok(())
    }

    pub async fn set_role(
        &self,
        actor: &Actor,
        username: &str,
        role: AdminRole,
    ) -> Result<(), AccountError> {
        check_role_allowed(role, self.role_separation)?;
        if actor.name == username && actor.role != "cli" {
            return Err(AccountError::Rule(
                "an administrator cannot change their own role".into(),
            ));
        }
        self.check_keeps_duties(username, Some(role), false).await?;
        let before = self
            .store
            .admins()
            .get(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("admin {username}")))?;
        self.store.admins().set_role(username, role).await?;
        self.store.admin_sessions().delete_for(username).await?;
        self.audit
            .record(
                actor,
                "admin.role",
                username,
                Outcome::Ok,
                json!({"before": before.role.as_str(), "after": role.as_str()}),
            )
            .await?;
        Ok(())
    }

    /// Refuses a change (a new role, or disabling) that would leave no
    /// enabled account able to manage accounts, or none able to read the
    /// audit trail: nobody could undo it from the dashboard.
    async fn check_keeps_duties(
        &self,
        username: &str,
        new_role: Option<AdminRole>,
        disable: bool,
    ) -> Result<(), AccountError> {
        use super::roles::{allows, Permission};
        let admins = self.store.admins().list().await?;
        let after = admins.iter().filter_map(|a| {
            if a.username == username {
                (!disable && !a.disabled).then(|| new_role.unwrap_or(a.role))
            } else {
                (!a.disabled).then_some(a.role)
            }
        });
        let roles: Vec<AdminRole> = after.collect();
        for (duty, what) in [
            (Permission::ManageAdmins, "manage administrator accounts"),
            (Permission::ReadAudit, "read the audit trail"),
        ] {
            let before = admins.iter().any(|a| !a.disabled && allows(a.role, duty));
            if before && !roles.iter().any(|r| allows(*r, duty)) {
                return Err(AccountError::Rule(format!(
                    "this would leave no enabled administrator able to {what}"
                )));
            }
        }
        Ok(())
    }

    pub async fn reset_totp(&self, actor: &Actor, username: &str) -> Result<(), AccountError> {
        self.store.admins().reset_totp(username).await?;
        self.store.admin_sessions().delete_for(username).await?;
        let revoked = self
            .store
            .admin_sessions()
            .revoke_all_tokens(username, crate::clock::now_ms())
            .await?;
        self.audit
            .record(
                actor,
                "admin.reset-totp",
                username,
                Outcome::Ok,
                json!({"tokens_revoked": revoked}),
            )
            .await?;
        Ok(())
    }

    pub async fn set_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
    ) -> Result<(), AccountError> {
        if disabled && actor.name == username && actor.role != "cli" {
            return Err(AccountError::Rule(
                "an administrator cannot disable their own account".into(),
            ));
        }
        if disabled {
            self.check_keeps_duties(username, None, true).await?;
        }
        self.store.admins().set_disabled(username, disabled).await?;
        if disabled {
            self.store.admin_sessions().delete_for(username).await?;
        }
        let action = if disabled {
            "admin.disable"
        } else {
            "admin.enable"
        };
        self.audit
            .record(actor, action, username, Outcome::Ok, json!({}))
            .await?;
        Ok(())
    }

    /// A new API token for `username`: the token itself (shown once) and
    /// its record. `expires_at` in epoch ms, or none.
    pub async fn create_token(
        &self,
        actor: &Actor,
        username: &str,
        name: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> Result<(String, AdminToken), AccountError> {
        let admin = self
            .store
            .admins()
            .get(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("admin {username}")))?;
        if admin.disabled {
            return Err(AccountError::Rule(format!("admin {username} is disabled")));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_secret());
        let record = self
            .store
            .admin_sessions()
            .create_token(username, name, &secret_hash(&token), now_ms, expires_at)
            .await?;
        self.audit
            .record(
                actor,
                "token.create",
                &format!("{username}/{name}"),
                Outcome::Ok,
                json!({"role": admin.role.as_str(), "expires_at": expires_at}),
            )
            .await?;
        Ok((token, record))
    }

    pub async fn revoke_token(
        &self,
        actor: &Actor,
        username: &str,
        name: &str,
        now_ms: i64,
    ) -> Result<(), AccountError> {
        self.store
            .admin_sessions()
            .revoke_token(username, name, now_ms)
            .await?;
        self.audit
            .record(
                actor,
                "token.revoke",
                &format!("{username}/{name}"),
                Outcome::Ok,
                json!({}),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(check_admin_password("alice", "Short1!").is_err());
        assert!(check_admin_password("alice", "alllowercaseletters").is_err());
        assert!(check_admin_password("alice", "Lower and UPPER words").is_ok());
        assert!(check_admin_password("alice", "digits1234and lower").is_ok());
        assert!(check_admin_password("alice", "Xalice-2026-pass").is_err());
        assert!(check_admin_password("alice", "安全口令Correct-Horse9").is_ok());
    }

    #[test]
    fn admin_role_only_without_separation() {
        assert!(check_role_allowed(AdminRole::Admin, true).is_err());
        assert!(check_role_allowed(AdminRole::Admin, false).is_ok());
        assert!(check_role_allowed(AdminRole::Audit, true).is_ok());
    }
}
