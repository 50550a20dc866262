//! Privacy over GraphQL (admins): `eraseAccount`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{caller, common::parse_id, services};

/// The account whose personal data is erased.
#[derive(InputObject)]
pub struct EraseAccountInput {
    /// The account (UUID).
    account_id: ID,
}

/// Result of `eraseAccount`.
#[derive(SimpleObject)]
pub struct EraseAccountPayload {
    /// The erased account.
    account_id: ID,
    /// When its personal data was erased (UTC).
    erased_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases an account's personal data at once, everywhere it appears (admins): the account
    /// is anonymised and closed, its sessions, memberships and notifications deleted, and its
    /// e-mail address replaced in every stored text. Audited.
    async fn erase_account(
        &self,
        ctx: &Context<'_>,
        input: EraseAccountInput,
    ) -> async_graphql::Result<EraseAccountPayload> {
        let account = parse_id("accountId", &input.account_id)?;
        let erased_at = services(ctx)?
            .privacy
            .erase_account(caller(ctx), account)
            .await?;
        Ok(EraseAccountPayload {
            account_id: input.account_id,
            erased_at,
        })
    }
}
