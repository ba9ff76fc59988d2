//! API tokens: stored hashed, looked up by hash, revocable.

use super::columns::{ScopeList, TargetList};
use super::{Store, StoreError, conflict_on_unique, inserted_row, only_row, record, targets_to_db};
use crate::domain::{Scope, ScopeSet, TargetName, TokenName};

/// What is stored for a new token (the secret itself never is).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: TokenName,
    /// Hex SHA-256 of the full token.
    pub token_hash: String,
    /// The first characters of the token, to recognise it in lists.
    pub prefix: String,
    pub scopes: ScopeSet,
    /// Empty: every target.
    pub targets: Vec<TargetName>,
    pub created_by: String,
    pub expires_at: Option<i64>,
}

/// A stored token, without its hash.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    #[schema(value_type = String)]
    pub name: TokenName,
    /// The secret's first characters, to recognise it.
    pub prefix: String,
    #[sqlx(try_from = "ScopeList")]
    #[schema(value_type = Vec<Scope>)]
    pub scopes: ScopeSet,
    /// Empty: every target.
    #[sqlx(try_from = "TargetList")]
    #[schema(value_type = Vec<String>)]
    pub targets: Vec<TargetName>,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, name, prefix, scopes, targets, created_at, created_by, expires_at, last_used_at, revoked_at";

impl Store {
    /// Stores a new token. A name held by another active token is a conflict.
    pub async fn create_token(&self, t: &NewToken, now: i64) -> Result<TokenRecord, StoreError> {
        let targets = targets_to_db(&t.targets);
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (name, token_hash, prefix, scopes, targets, created_at, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ))
        .bind(t.name.as_str())
        .bind(&t.token_hash)
        .bind(&t.prefix)
        .bind(t.scopes.to_db())
        .bind(targets)
        .bind(now)
        .bind(&t.created_by)
        .bind(t.expires_at)
        .fetch_all(self.pool())
        .await
        .and_then(inserted_row)
        .map_err(|e| conflict_on_unique(e, || format!("a token named {:?} already exists; revoke it first", t.name.as_str())))?;
        record(&row)
    }

    /// The active (not revoked, not expired) token with this hash.
    pub async fn find_active_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Records that a token was used.
    pub async fn touch_token(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every token, newest first, revoked ones included (they explain old audit entries).
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY id DESC"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    /// Revokes the active token with this name.
    pub async fn revoke_token(
        &self,
        name: &TokenName,
        now: i64,
    ) -> Result<TokenRecord, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(name.as_str())
        .fetch_all(self.pool())
        .await
        .map(only_row)?;
        row.as_ref()
            .map(record)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }
}
