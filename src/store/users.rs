//! People who sign in: name, role, target limits, the argon2id hash of their password.

use super::columns::{Flag, TargetList};
use super::{Store, StoreError, conflict_on_unique, inserted_row, record, targets_to_db};
use crate::domain::{Role, TargetName};

/// A person to store; `password_hash` is already an argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// Empty: every target.
    pub targets: Vec<TargetName>,
    pub password_hash: String,
    pub created_by: String,
}

/// A stored person, without the password hash (which only sign-in reads).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "TargetList")]
    pub targets: Vec<TargetName>,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A person with the hash sign-in checks.
#[derive(sqlx::FromRow)]
struct WithHash {
    #[sqlx(flatten)]
    user: UserRecord,
    password_hash: String,
}

/// A change to a person (see `update_user`).
#[derive(Clone, Copy)]
enum Change<'a> {
    Disabled(bool),
    Password(&'a str),
}

pub(super) const COLUMNS: &str =
    "id, name, role, targets, disabled, created_by, created_at, updated_at";

impl Store {
    /// Stores the first person, only while nobody exists: `None` when someone does (another
    /// replica's setup link was faster). One statement, so two at once cannot both pass the
    /// check; on PostgreSQL the table is locked for it, since a concurrent INSERT … WHERE
    /// NOT EXISTS would not see the other's uncommitted row.
    pub async fn create_first_user(
        &self,
        u: &NewUser,
        now: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == super::Backend::Postgres {
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(&format!(
            "INSERT INTO users (name, role, targets, password_hash, created_by, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $6 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING {COLUMNS}"
        ))
        .bind(&u.name)
        .bind(u.role.as_str())
        .bind(targets_to_db(&u.targets))
        .bind(&u.password_hash)
        .bind(&u.created_by)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let user = super::only_row(row).map(|r| record(&r)).transpose()?;
        tx.commit().await?;
        Ok(user)
    }

    /// Stores a new person; a name already taken is a conflict.
    pub async fn create_user(&self, u: &NewUser, now: i64) -> Result<UserRecord, StoreError> {
        let targets = targets_to_db(&u.targets);
        let row = sqlx::query(&format!(
            "INSERT INTO users (name, role, targets, password_hash, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
        ))
        .bind(&u.name)
        .bind(u.role.as_str())
        .bind(targets)
        .bind(&u.password_hash)
        .bind(&u.created_by)
        .bind(now)
        .fetch_all(self.pool())
        .await
        .and_then(inserted_row)
        .map_err(|e| conflict_on_unique(e, || format!("a user named {:?} already exists", u.name)))?;
        record(&row)
    }

    /// Everyone, in name order, disabled people included.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(record).collect()
    }

    /// How many people exist (none: the first start offers the setup link).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    /// The person and their password hash, for sign-in.
    pub async fn user_for_sign_in(
        &self,
        name: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        let row: Option<WithHash> = sqlx::query_as(&format!(
            "SELECT {COLUMNS}, password_hash FROM users WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| (r.user, r.password_hash)))
    }

    /// Disables or re-enables a person; `NotFound` when there is no such name. Disabling
    /// ends their sessions for good (enabling them again does not bring those back).
    pub async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        self.update_user(name, Change::Disabled(disabled), now)
            .await
    }

    /// Replaces a person's password hash and ends their sessions (a reset password is
    /// usually a leaked one); `NotFound` when there is no such name.
    pub async fn set_user_password(
        &self,
        name: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        self.update_user(name, Change::Password(password_hash), now)
            .await
    }

    /// Applies `change` to a person and, when it should, revokes their sessions in the same
    /// transaction.
    async fn update_user(
        &self,
        name: &str,
        change: Change<'_>,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let (column, end_sessions) = match change {
            Change::Disabled(d) => ("disabled", d),
            Change::Password(_) => ("password_hash", true),
        };
        let sql = format!(
            "UPDATE users SET {column} = $1, updated_at = $2 WHERE name = $3 RETURNING {COLUMNS}"
        );
        let query = sqlx::query(&sql);
        let query = match change {
            Change::Disabled(d) => query.bind(i64::from(d)),
            Change::Password(hash) => query.bind(hash),
        };
        let mut tx = self.pool().begin().await?;
        let row = query
            .bind(now)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let user: UserRecord = record(&row)?;
        if end_sessions {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND user_id = $2",
            )
            .bind(now)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// A person an SSO proxy vouched for, with the role its mapping gives now: created on
    /// their first visit (with no usable password), the role updated on later ones.
    pub async fn upsert_proxy_user(
        &self,
        name: &str,
        role: Role,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO users (name, role, targets, password_hash, created_by, created_at, updated_at) \
             VALUES ($1, $2, '', '!', 'auth-proxy', $3, $3) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(role.as_str())
        .bind(now)
        .fetch_all(self.pool())
        .await
        .and_then(inserted_row)?;
        record(&row)
    }
}
