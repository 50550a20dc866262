//! Sign-in, token rotation, and resolving a bearer token into a [`Principal`].

use crate::infra::db::Db;
use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionSession as _, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{
    Account, AccountView, TokenPair,
    cache::{CachedAccount, CallerCache},
    repository,
    sessions::Sessions,
};

use crate::{
    auth::{
        Caller, Principal, Role,
        oidc::{OidcIdentity, OidcVerifier, ProviderUsers},
        passwords,
        tokens::{self, TokenIssuer},
    },
    domain::{
        identity::{AuthConfig, DevUser},
        platform::{
            audit::{self, AuditEntry},
            outbox::OutboxWaker,
        },
    },
    error::AppError,
    infra::ratelimit::{Limit, RateLimiter},
};

const INVALID_LOGIN: &str = "Invalid e-mail or password";
/// Why an ended session's access token is refused (HTTP and websockets say the same).
pub const SESSION_ENDED: &str =
    "the session has ended (signed out, or its refresh token was used twice); sign in again";

#[derive(Clone)]
pub struct IdentityService {
    db: Db,
    tokens: Arc<TokenIssuer>,
    dev_users: Arc<Vec<DevUser>>,
    limiter: RateLimiter,
    login_per_email: Limit,
    login_per_ip: Limit,
    api_limit: Limit,
    /// `SERVICE_TOKENS`: token hash → worker name.
    service_tokens: Arc<HashMap<String, Arc<str>>>,
    /// Set with AUTH_PROVIDER=oidc: tokens come from the issuer, users from its API.
    oidc: Option<Arc<OidcVerifier>>,
    provider_users: Option<Arc<ProviderUsers>>,
    /// Callers seen lately, so a busy caller costs no statement per request.
    callers: CallerCache,
    /// Sessions ended lately: their access tokens are refused.
    sessions: Sessions,
    /// Wakes the outbox dispatchers after an invitation's event committed.
    outbox: OutboxWaker,
}

/// The live account with `email`, created with `role` when there is none.
pub(super) async fn find_or_provision(
    db: &(impl ConnectionTrait + TransactionTrait),
    email: &str,
    role: Role,
) -> Result<(Account, bool), AppError> {
    if let Some(account) = repository::find_live_account_by_email(db, email).await? {
        return Ok((account, false));
    }
    let now = Utc::now();
    let display_name = email.split('@').next().unwrap_or(email).to_owned();
    let account = Account {
        id: Uuid::now_v7(),
        email: email.to_owned(),
        external_id: None,
        role,
        display_name,
        created_at: now,
    };
    // In a savepoint: if a concurrent request created the account first, the failed insert
    // rolls back alone and the surrounding transaction (on Postgres) stays usable.
    let savepoint = db.begin().await?;
    let inserted = repository::insert_account_unless_taken(&savepoint, &account).await;
    if matches!(inserted, Ok(true)) {
        savepoint.commit().await?;
    } else {
        savepoint.rollback().await?;
    }
    match inserted? {
        true => Ok((account, true)),
        // Provisioned concurrently by another request: use that account.
        false => repository::find_live_account_by_email(db, email)
            .await?
            .map(|account| (account, false))
            .ok_or_else(|| AppError::Conflict("email: the account is being created; retry".into())),
    }
}

impl IdentityService {
    pub fn new(
        db: Db,
        tokens: Arc<TokenIssuer>,
        auth: &AuthConfig,
        limiter: RateLimiter,
        callers: CallerCache,
        sessions: Sessions,
        outbox: OutboxWaker,
    ) -> Self {
        Self {
            db,
            callers,
            sessions,
            outbox,
            tokens,
            dev_users: Arc::new(auth.dev_users.clone()),
            limiter,
            login_per_email: auth.login_limit_per_email,
            login_per_ip: auth.login_limit_per_ip,
            api_limit: auth.api_limit,
            service_tokens: Arc::new(
                auth.service_tokens
                    .iter()
                    .map(|(name, hash)| (hash.clone(), Arc::from(name.as_str())))
                    .collect(),
            ),
            oidc: auth
                .oidc
                .clone()
                .map(|config| Arc::new(OidcVerifier::new(config))),
            provider_users: auth
                .oidc
                .as_ref()
                .map(|config| Arc::new(ProviderUsers::new(config))),
        }
    }

    fn require_local(&self) -> Result<(), AppError> {
        if self.oidc.is_some() {
            Err(AppError::BadRequest(
                "sign-in happens at the identity provider (AUTH_PROVIDER=oidc); send its token as Bearer".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// The account of an issuer's subject, created from the token's claims on first sight (or
    /// linked, when an owner added its e-mail as a member before it first signed in).
    async fn account_for_subject(&self, identity: &OidcIdentity) -> Result<Uuid, AppError> {
        if let Some(account) =
            repository::find_live_account_by_subject(&self.db, &identity.subject).await?
        {
            return Ok(account.id);
        }
        let email = identity
            .email
            .as_deref()
            .and_then(|e| crate::domain::kernel::validation::email(e).ok())
            .ok_or_else(|| {
                AppError::Unauthenticated("the token carries no usable e-mail claim".into())
            })?;
        // An e-mail the issuer has not verified must not create or claim an account: whoever
        // typed it would inherit invitations (memberships) sent to that address.
        if !identity.email_verified {
            return Err(AppError::Unauthenticated(
                "the token's e-mail is not verified (email_verified)".into(),
            ));
        }
        let role = identity
            .role
            .ok_or_else(|| AppError::Unauthenticated("the token carries no role claim".into()))?;
        let txn = crate::infra::db::begin_write(&self.db).await?;
        let account_id = match repository::find_live_account_by_email(&txn, &email).await? {
            Some(existing) if existing.external_id.is_none() => {
                repository::link_account_to_subject(
                    &txn,
                    existing.id,
                    &identity.subject,
                    None,
                    Some(Utc::now()),
                )
                .await?;
                existing.id
            }
            // A concurrent first request of the same subject got here first.
            Some(existing)
                if existing.external_id.as_deref() == Some(identity.subject.as_str()) =>
            {
                return Ok(existing.id);
            }
            Some(_) => {
                return Err(AppError::Unauthenticated(
                    "this e-mail belongs to another identity".into(),
                ));
            }
            None => {
                let (account, _) = find_or_provision(&txn, &email, role).await?;
                repository::link_account_to_subject(
                    &txn,
                    account.id,
                    &identity.subject,
                    None,
                    None,
                )
                .await?;
                account.id
            }
        };
        let system = Caller::system();
        audit::record(
            &txn,
            &system,
            Some(account_id),
            AuditEntry {
                action: "account.provision",
                entity: "account",
                entity_id: Some(account_id.to_string()),
                before: None,
                after: Some(json!({ "email": email, "role": role.as_str(), "externalId": identity.subject })),
            },
        )
        .await?;
        match txn.commit().await {
            Ok(()) => Ok(account_id),
            // A concurrent first request provisioned it: use that one.
            Err(_) => repository::find_live_account_by_subject(&self.db, &identity.subject)
                .await?
                .map(|a| a.id)
                .ok_or_else(|| {
                    AppError::Unauthenticated("the account could not be provisioned".into())
                }),
        }
    }

    /// Creates a user at the identity provider (AUTH_PROVIDER=oidc) and its account here. The
    /// password is forwarded to the provider, never stored or logged.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn register(
        &self,
        caller: &Caller,
        email: &str,
        password: String,
        role: Role,
        display_name: Option<String>,
    ) -> Result<AccountView, AppError> {
        let Some(provider) = &self.provider_users else {
            return Err(AppError::BadRequest(
                "registration needs AUTH_PROVIDER=oidc; local users are listed in DEV_USERS".into(),
            ));
        };
        // Registrations spend the sign-in budget of the caller's address.
        if let Some(ip) = &caller.meta.ip {
            self.limiter
                .check(&format!("register:ip:{ip}"), self.login_per_ip)
                .await?;
        }
        let mut v = crate::domain::kernel::validation::Violations::default();
        let email = v.check("email", crate::domain::kernel::validation::email(email));
        if role == Role::Admin {
            v.check::<()>("role", Err("must be SUPPLIER or RESTAURANT".into()));
        }
        if password.chars().count() < 8 {
            v.check::<()>("password", Err("must be at least 8 characters".into()));
        }
        let display_name = match display_name {
            Some(name) => v.check(
                "displayName",
                crate::domain::kernel::validation::text(&name, 200),
            ),
            None => None,
        };
        v.finish()?;
        let Some(email) = email else {
            return Err(anyhow::anyhow!("validated e-mail missing").into());
        };
        if repository::find_live_account_by_email(&self.db, &email)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(
                "email: an account with this e-mail exists".into(),
            ));
        }
        let subject = provider
            .create_user(&email, &password, role, display_name.as_deref())
            .await?;
        drop(password);
        let txn = crate::infra::db::begin_write(&self.db).await?;
        let (account, _) = find_or_provision(&txn, &email, role).await?;
        repository::link_account_to_subject(
            &txn,
            account.id,
            &subject,
            display_name.as_deref(),
            None,
        )
        .await?;
        audit::record(
            &txn,
            caller,
            Some(account.id),
            AuditEntry {
                action: "account.register",
                entity: "account",
                entity_id: Some(account.id.to_string()),
                before: None,
                after: Some(json!({ "email": email, "role": role.as_str() })),
            },
        )
        .await?;
        txn.commit().await?;
        self.cached_account(repository::AccountKey::Id(account.id))
            .await?
            .map(|cached| cached.view())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("registered account vanished")))
    }

    /// Counts one API request against the caller's budget: per account when signed in, per IP
    /// address otherwise. Iris itself is not limited.
    pub async fn check_api_rate(&self, caller: &Caller) -> Result<(), AppError> {
        let key = match (&caller.principal, &caller.meta.ip) {
            (Principal::System | Principal::Service(_), _) => return Ok(()),
            (Principal::Account(account), _) => format!("api:account:{}", account.account_id),
            (Principal::Anonymous, Some(ip)) => format!("api:ip:{ip}"),
            (Principal::Anonymous, None) => return Ok(()),
        };
        self.limiter.check(&key, self.api_limit).await
    }

    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    pub(super) fn outbox_waker(&self) -> &OutboxWaker {
        &self.outbox
    }

    /// Resolves an `Authorization` header value into the caller's principal: anonymous without
    /// one, UNAUTHENTICATED for a bad, expired or foreign token or a deleted account.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AppError> {
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Principal::Anonymous);
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(AppError::Unauthenticated(
                    "Authorization must be `Bearer <access token>`".into(),
                ));
            }
        };
        if token.starts_with("svc_") {
            return self
                .service_tokens
                .get(&tokens::hash_refresh_token(token))
                .map(|name| Principal::Service(name.clone()))
                .ok_or_else(|| AppError::Unauthenticated("the service token is unknown".into()));
        }
        let (cached, expires_at, session_id) = match &self.oidc {
            Some(verifier) => {
                let identity = verifier.verify(token).await?;
                let known = self
                    .cached_account(repository::AccountKey::Subject(&identity.subject))
                    .await?;
                let cached = match known {
                    Some(cached) => Some(cached),
                    // First sign-in of this subject: link or provision its account.
                    None => {
                        let account_id = self.account_for_subject(&identity).await?;
                        self.cached_account(repository::AccountKey::Id(account_id))
                            .await?
                    }
                };
                (cached, identity.expires_at, None)
            }
            None => {
                let claims = self.tokens.verify_access(token)?;
                let account_id = Uuid::parse_str(&claims.sub)
                    .map_err(|_| AppError::Unauthenticated("the access token is invalid".into()))?;
                if self.sessions.has_ended(claims.sid) {
                    return Err(AppError::Unauthenticated(SESSION_ENDED.into()));
                }
                let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
                (
                    self.cached_account(repository::AccountKey::Id(account_id))
                        .await?,
                    expires_at,
                    Some(claims.sid),
                )
            }
        };
        cached
            .map(|cached| Principal::Account(Arc::new(cached.identity(expires_at, session_id))))
            .ok_or_else(|| AppError::Unauthenticated("the account no longer exists".into()))
    }

    /// The live account `key` names, with its memberships: from the caller cache, else in one
    /// statement (stored for the next request).
    async fn cached_account(
        &self,
        key: repository::AccountKey<'_>,
    ) -> Result<Option<Arc<CachedAccount>>, AppError> {
        let cached = match &key {
            repository::AccountKey::Id(id) => self.callers.by_id(*id),
            repository::AccountKey::Subject(subject) => self.callers.by_subject(subject),
        };
        if cached.is_some() {
            return Ok(cached);
        }
        let ticket = self.callers.ticket();
        let Some(value) = repository::find_live_account_with_memberships(&self.db, key).await?
        else {
            return Ok(None);
        };
        let value = Arc::new(value);
        self.callers.store(ticket, value.clone());
        Ok(Some(value))
    }

    /// The process's caller cache (other contexts report account changes through it).
    pub fn callers(&self) -> &CallerCache {
        &self.callers
    }

    /// The signed-in account with its memberships.
    pub async fn me(&self, caller: &Caller) -> Result<AccountView, AppError> {
        let Some(id) = caller.principal.account_id() else {
            return Err(AppError::Unauthenticated(
                "sign in to see your account".into(),
            ));
        };
        self.cached_account(repository::AccountKey::Id(id))
            .await?
            .map(|cached| cached.view())
            .ok_or_else(|| AppError::Unauthenticated("the account no longer exists".into()))
    }

    /// Signs in with a `DEV_USERS` e-mail and password (local provider).
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn login(
        &self,
        caller: &Caller,
        email: &str,
        password: String,
    ) -> Result<TokenPair, AppError> {
        self.require_local()?;
        // Attempts count whatever their outcome: guessing is slowed per IP, then per address.
        if let Some(ip) = &caller.meta.ip {
            self.limiter
                .check(&format!("login:ip:{ip}"), self.login_per_ip)
                .await?;
        }
        // Only plausible addresses become counter keys (and audit data): no unbounded keys, and
        // a password typed into the e-mail field is not kept.
        let email = crate::domain::kernel::validation::email(email).ok();
        if let Some(email) = &email {
            self.limiter
                .check(&format!("login:email:{email}"), self.login_per_email)
                .await?;
        }
        let email = email.unwrap_or_default();
        let user = self
            .dev_users
            .iter()
            .find(|u| !email.is_empty() && u.email == email);
        // Verify against a dummy hash for unknown e-mails, so timing does not tell them apart.
        let hash = user.map_or(passwords::DUMMY_HASH, |u| u.password_hash.as_str());
        let verified = passwords::verify(password, hash.to_owned()).await && user.is_some();
        let Some(user) = user.filter(|_| verified) else {
            audit::record(
                &self.db,
                caller,
                None,
                AuditEntry {
                    action: "auth.login_failed",
                    entity: "account",
                    entity_id: None,
                    before: None,
                    after: Some(json!({ "email": email })),
                },
            )
            .await?;
            tracing::info!("login failed");
            return Err(AppError::Unauthenticated(INVALID_LOGIN.into()));
        };

        let txn = crate::infra::db::begin_write(&self.db).await?;
        let (mut account, _) = find_or_provision(&txn, &email, user.role).await?;
        if account.role != user.role {
            // DEV_USERS is the source of truth for local accounts' roles.
            repository::set_account_role(&txn, account.id, user.role, Utc::now()).await?;
            account.role = user.role;
        }
        let pair = self
            .issue(&txn, account.id, user.role, Uuid::now_v7())
            .await?;
        audit::record(
            &txn,
            caller,
            Some(account.id),
            AuditEntry {
                action: "auth.login",
                entity: "account",
                entity_id: Some(account.id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        // Its role follows DEV_USERS, which may have changed since the last sign-in.
        self.callers.account_changed(account.id).await;
        tracing::info!(account_id = %account.id, "login succeeded");
        Ok(pair)
    }

    async fn issue(
        &self,
        db: &impl ConnectionTrait,
        account_id: Uuid,
        role: Role,
        family_id: Uuid,
    ) -> Result<TokenPair, AppError> {
        let access = self.tokens.issue_access(account_id, role, family_id)?;
        let refresh = tokens::new_refresh_token();
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.tokens.refresh_ttl())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("refresh TTL: {e}")))?;
        repository::insert_refresh_token(
            db,
            account_id,
            family_id,
            tokens::hash_refresh_token(&refresh),
            now,
            now + ttl,
        )
        .await?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: refresh,
            expires_at: access.expires_at,
        })
    }

    /// Exchanges a refresh token for a new pair. A token already used (or revoked) is a sign of
    /// theft: its whole family is revoked.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn refresh(
        &self,
        caller: &Caller,
        refresh_token: &str,
    ) -> Result<TokenPair, AppError> {
        self.require_local()?;
        let hash = tokens::hash_refresh_token(refresh_token.trim());
        let now = Utc::now();
        let txn = crate::infra::db::begin_write(&self.db).await?;
        // Claim first (a write): concurrent refreshes of one token cannot both succeed, and on
        // SQLite the transaction holds the write lock from the start.
        let claimed = repository::claim_unused_live_refresh_token(&txn, &hash, now).await?;
        let Some(row) = repository::find_refresh_token_by_hash(&txn, &hash).await? else {
            return Err(AppError::Unauthenticated(
                "the refresh token is invalid".into(),
            ));
        };
        if !claimed {
            if row.used_at.is_some() || row.revoked_at.is_some() {
                let revoked =
                    repository::revoke_refresh_token_family(&txn, row.family_id, now).await?;
                if row.used_at.is_some() {
                    audit::record(
                        &txn,
                        caller,
                        Some(row.account_id),
                        AuditEntry {
                            action: "auth.refresh_reuse",
                            entity: "refresh_token_family",
                            entity_id: Some(row.family_id.to_string()),
                            before: None,
                            after: Some(json!({ "revokedTokens": revoked })),
                        },
                    )
                    .await?;
                    tracing::warn!(account_id = %row.account_id, "refresh token reuse: family revoked");
                }
                txn.commit().await?;
                self.sessions.ended(row.family_id, now).await;
                return Err(AppError::Unauthenticated(
                    "the refresh token was already used or revoked; sign in again".into(),
                ));
            }
            return Err(AppError::Unauthenticated(
                "the refresh token has expired".into(),
            ));
        }
        let account = repository::find_live_account(&txn, row.account_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the account no longer exists".into()))?;
        let pair = self
            .issue(&txn, account.id, account.role, row.family_id)
            .await?;
        txn.commit().await?;
        Ok(pair)
    }

    /// Ends a session (this sign-in on every device it was refreshed on): the one the refresh
    /// token belongs to, else the caller's own. Its refresh tokens stop working and its access
    /// tokens are refused from the next request on, on every process.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn logout(
        &self,
        caller: &Caller,
        refresh_token: Option<&str>,
    ) -> Result<(), AppError> {
        let txn = crate::infra::db::begin_write(&self.db).await?;
        let (account, session) = match refresh_token.map(str::trim) {
            Some(token) => {
                let hash = tokens::hash_refresh_token(token);
                let Some(row) = repository::find_refresh_token_by_hash(&txn, &hash).await? else {
                    // An unknown refresh token: the bearer token's session still ends.
                    drop(txn);
                    return match caller.principal.account().and_then(|a| a.session_id) {
                        Some(_) => Box::pin(self.logout(caller, None)).await,
                        None => Ok(()),
                    };
                };
                if let Some(me) = caller.principal.account_id()
                    && me != row.account_id
                {
                    return Err(AppError::Forbidden(
                        "that refresh token is not yours".into(),
                    ));
                }
                (row.account_id, row.family_id)
            }
            None => match caller.principal.account() {
                Some(account) => match account.session_id {
                    Some(session) => (account.account_id, session),
                    None => {
                        return Err(AppError::BadRequest(
                            "refreshToken: required: this access token comes from the identity provider, which ends its own sessions".into(),
                        ));
                    }
                },
                None => {
                    return Err(AppError::Unauthenticated(
                        "sign in, or send the session's refreshToken".into(),
                    ));
                }
            },
        };
        let now = Utc::now();
        repository::revoke_refresh_token_family(&txn, session, now).await?;
        audit::record(
            &txn,
            caller,
            Some(account),
            AuditEntry {
                action: "auth.logout",
                entity: "refresh_token_family",
                entity_id: Some(session.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        self.sessions.ended(session, now).await;
        Ok(())
    }

    /// The process's record of ended sessions (websockets watch it).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}
