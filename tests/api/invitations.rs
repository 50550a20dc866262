//! Invitations: nobody joins an organisation without accepting; an invitation is answered
//! once, before it expires; inviting answers the same for every address (no oracle); the
//! invitee hears of it as a notification; only the token's hash is stored.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Api, TestApp},
    notifications::notifications,
    orders::{HASH, PASSWORD},
    webhooks::DELIVERING,
};

const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { token invitation { id organisationType organisationId organisationName email role status expiresAt answeredAt createdAt } } }";
const ADD: &str = "mutation($input: AddMemberInput!) { addMember(input: $input) { membership { role } invitation { organisationName role status } invitationToken } }";
const ACCEPT: &str = "mutation($input: AnswerInvitationInput!) { acceptInvitation(input: $input) { invitation { id status answeredAt } membership { accountId role organisationId } } }";
const DECLINE: &str = "mutation($input: AnswerInvitationInput!) { declineInvitation(input: $input) { invitation { id status } } }";
const MINE: &str = "{ myInvitations { id organisationName role status email } }";
const MEMBERSHIPS: &str = "{ me { supplierMemberships { role supplier { id } } } }";

struct World {
    app: TestApp,
    _backend: crate::helpers::Backend,
    owner: Api,
    staff: Api,
    friend: Api,
    chef: Api,
    supplier: String,
}

async fn world() -> World {
    let users = [
        ("admin@t.se", "ADMIN"),
        ("owner@s.se", "SUPPLIER"),
        ("staff@s.se", "SUPPLIER"),
        ("friend@s.se", "SUPPLIER"),
        ("chef@r.se", "RESTAURANT"),
    ]
    .iter()
    .map(|(email, role)| format!("{email}:{role}:{HASH}"))
    .collect::<Vec<_>>()
    .join(";");
    let mut settings = DELIVERING.to_vec();
    settings.extend([("DEV_USERS", users.as_str()), ("API_RATE_LIMIT", "1000000")]);
    let (app, backend) = TestApp::spawn_with(&settings).await;
    let owner = app.login("owner@s.se", PASSWORD).await;
    let staff = app.login("staff@s.se", PASSWORD).await;
    let friend = app.login("friend@s.se", PASSWORD).await;
    let chef = app.login("chef@r.se", PASSWORD).await;
    let supplier = crate::helpers::create_supplier(&owner, 520, "Bjudande Grossist AB", "Umeå")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        _backend: backend,
        owner,
        staff,
        friend,
        chef,
        supplier,
    }
}

fn ok(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {body}"))
}

impl World {
    async fn invite(&self, email: &str, role: &str) -> Value {
        ok(self
            .owner
            .graphql(
                INVITE,
                json!({ "input": { "organisationType": "SUPPLIER", "organisationId": self.supplier, "email": email, "role": role } }),
            )
            .await)["inviteMember"]
            .clone()
    }

    async fn roles(&self, api: &Api) -> Vec<String> {
        ok(api.graphql(MEMBERSHIPS, json!({})).await)["me"]["supplierMemberships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["supplier"]["id"] == self.supplier.as_str())
            .map(|m| m["role"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// An answer with what differs by nature (ids, the address, times, the token) taken out.
fn shape(mut answer: Value) -> Value {
    for field in ["id", "email", "expiresAt", "createdAt"] {
        answer["invitation"][field] = json!("…");
    }
    assert!(answer["token"].as_str().unwrap().starts_with("inv_"));
    answer["token"] = json!("…");
    answer
}

#[tokio::test]
async fn inviting_answers_the_same_for_every_address() {
    let w = world().await;
    // Unknown, a supplier account, a restaurant account (the wrong kind), the owner itself,
    // an admin: one answer.
    let answers = [
        w.invite("nobody@nowhere.se", "STAFF").await,
        w.invite("staff@s.se", "STAFF").await,
        w.invite("chef@r.se", "STAFF").await,
        w.invite("admin@t.se", "STAFF").await,
    ];
    let first = shape(answers[0].clone());
    assert_eq!(first["invitation"]["status"], "PENDING");
    assert_eq!(
        first["invitation"]["organisationName"],
        "Bjudande Grossist AB"
    );
    for answer in &answers[1..] {
        assert_eq!(shape(answer.clone()), first);
    }
    // addMember of a non-member invites, with the same answer whoever the address is.
    let add = |email: &str| json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "email": email, "role": "STAFF" } });
    let mut unknown = ok(w.owner.graphql(ADD, add("ghost@nowhere.se")).await);
    let mut wrong_kind = ok(w.owner.graphql(ADD, add("chef@r.se")).await);
    for answer in [&mut unknown, &mut wrong_kind] {
        assert!(
            answer["addMember"]["invitationToken"]
                .as_str()
                .unwrap()
                .starts_with("inv_")
        );
        answer["addMember"]["invitationToken"] = json!("…");
    }
    assert_eq!(unknown, wrong_kind);
    assert!(unknown["addMember"]["membership"].is_null());
    // Nobody joined: the invited accounts have no membership.
    assert!(w.roles(&w.staff).await.is_empty());
    // Bad input names the field.
    let bad = w
        .owner
        .graphql(
            INVITE,
            json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "email": "not an address", "role": "STAFF" } }),
        )
        .await;
    assert_eq!(code(&bad), "VALIDATION");
    assert_eq!(
        bad["errors"][0]["extensions"]["fields"][0]["field"],
        "email"
    );
}

#[tokio::test]
async fn an_invitation_is_accepted_or_declined_once() {
    let w = world().await;
    let invited = w.invite("Staff@S.se", "STAFF").await;
    let id = invited["invitation"]["id"].as_str().unwrap().to_owned();
    let token = invited["token"].as_str().unwrap().to_owned();

    // The invitee hears of it, and sees it in its list (the address matches whatever its case).
    let news = notifications(&w.staff, 1).await;
    let notice = &news["notifications"]["edges"][0]["node"];
    assert_eq!(notice["kind"], "invitation.received", "{news}");
    assert_eq!(notice["data"]["invitationId"], id.as_str());
    assert!(
        notice["title"]
            .as_str()
            .unwrap()
            .contains("Bjudande Grossist AB")
    );
    let mine = ok(w.staff.graphql(MINE, json!({})).await)["myInvitations"].clone();
    assert_eq!(mine[0]["id"], id.as_str(), "{mine}");
    assert_eq!(mine[0]["role"], "STAFF");
    // Someone else cannot answer it by id (it does not exist for them).
    let foreign = w
        .friend
        .graphql(ACCEPT, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(code(&foreign), "NOT_FOUND");
    assert!(
        ok(w.friend.graphql(MINE, json!({})).await)["myInvitations"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let accepted = ok(w
        .staff
        .graphql(ACCEPT, json!({ "input": { "id": id } }))
        .await);
    assert_eq!(
        accepted["acceptInvitation"]["invitation"]["status"],
        "ACCEPTED"
    );
    assert!(accepted["acceptInvitation"]["invitation"]["answeredAt"].is_string());
    assert_eq!(accepted["acceptInvitation"]["membership"]["role"], "STAFF");
    assert_eq!(w.roles(&w.staff).await, ["STAFF"]);

    // Once: neither the id nor the token works again, for accepting or declining.
    for input in [json!({ "id": id }), json!({ "token": token })] {
        for mutation in [ACCEPT, DECLINE] {
            let again = w.staff.graphql(mutation, json!({ "input": input })).await;
            assert_eq!(code(&again), "CONFLICT", "{again}");
        }
    }
    let both = w
        .staff
        .graphql(ACCEPT, json!({ "input": { "id": id, "token": token } }))
        .await;
    assert_eq!(code(&both), "VALIDATION");

    // Declined: no membership, and no second answer.
    let declined_invitation = w.invite("friend@s.se", "OWNER").await;
    let friend_id = declined_invitation["invitation"]["id"].as_str().unwrap();
    let declined = ok(w
        .friend
        .graphql(DECLINE, json!({ "input": { "id": friend_id } }))
        .await);
    assert_eq!(
        declined["declineInvitation"]["invitation"]["status"],
        "DECLINED"
    );
    assert!(w.roles(&w.friend).await.is_empty());
    let late = w
        .friend
        .graphql(ACCEPT, json!({ "input": { "id": friend_id } }))
        .await;
    assert_eq!(code(&late), "CONFLICT");

    // An account of the wrong kind cannot accept (it is told about its own account only).
    let for_chef = w.invite("chef@r.se", "STAFF").await;
    let wrong = w
        .chef
        .graphql(ACCEPT, json!({ "input": { "token": for_chef["token"] } }))
        .await;
    assert_eq!(code(&wrong), "VALIDATION");
    assert!(
        wrong["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("RESTAURANT account"),
        "{wrong}"
    );

    // Anonymous callers answer nothing.
    let anonymous = w
        .app
        .anonymous()
        .graphql(ACCEPT, json!({ "input": { "token": for_chef["token"] } }))
        .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");

    let audit = ok(w
        .app
        .login("admin@t.se", PASSWORD)
        .await
        .graphql(
            "{ auditLog(first: 100, filter: {entity: \"invitation\"}) { edges { node { action } } } }",
            json!({}),
        )
        .await);
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    for action in [
        "membership.invite",
        "membership.accept",
        "membership.decline",
    ] {
        assert!(actions.contains(&action), "{action} missing: {actions:?}");
    }
}

#[tokio::test]
async fn a_token_admits_any_account_of_the_right_kind_once_until_it_expires() {
    let w = world().await;
    // Invited at a work address, accepted from the friend's own account with the token.
    let invited = w.invite("friend.work@s.se", "STAFF").await;
    let token = invited["token"].as_str().unwrap().to_owned();
    let joined = ok(w
        .friend
        .graphql(ACCEPT, json!({ "input": { "token": token } }))
        .await);
    assert_eq!(joined["acceptInvitation"]["membership"]["role"], "STAFF");
    assert_eq!(w.roles(&w.friend).await, ["STAFF"]);
    let reuse = w
        .staff
        .graphql(ACCEPT, json!({ "input": { "token": token } }))
        .await;
    assert_eq!(code(&reuse), "CONFLICT", "single use: {reuse}");
    let unknown = w
        .staff
        .graphql(ACCEPT, json!({ "input": { "token": "inv_nope" } }))
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");

    // Only the token's hash is stored.
    let stored = entity::invitations::Entity::find()
        .filter(entity::invitations::Column::EmailFolded.eq("friend.work@s.se"))
        .one(&w.app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.token_hash.len(), 64);
    assert!(!stored.token_hash.contains(token.trim_start_matches("inv_")));

    // Past its expiry it is EXPIRED: not listed, not accepted.
    let expiring = w.invite("staff@s.se", "STAFF").await;
    entity::invitations::Entity::update_many()
        .col_expr(
            entity::invitations::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(entity::invitations::Column::EmailFolded.eq("staff@s.se"))
        .exec(&w.app.state.db)
        .await
        .unwrap();
    assert!(
        ok(w.staff.graphql(MINE, json!({})).await)["myInvitations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let expired = w
        .staff
        .graphql(ACCEPT, json!({ "input": { "token": expiring["token"] } }))
        .await;
    assert_eq!(code(&expired), "CONFLICT");
    assert!(
        expired["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{expired}"
    );
    assert!(w.roles(&w.staff).await.is_empty());

    // Inviting an address again replaces its pending invitation; the owner can revoke one.
    let first = w.invite("late@s.se", "STAFF").await;
    let second = w.invite("late@s.se", "OWNER").await;
    let replaced = w
        .friend
        .graphql(ACCEPT, json!({ "input": { "token": first["token"] } }))
        .await;
    assert_eq!(code(&replaced), "CONFLICT");
    const REVOKE: &str =
        "mutation($id: ID!) { revokeInvitation(input: {id: $id}) { invitation { status } } }";
    let second_id = second["invitation"]["id"].clone();
    // A member who is not an owner may not; an outsider learns nothing.
    let by_staff = w.friend.graphql(REVOKE, json!({ "id": second_id })).await;
    assert_eq!(code(&by_staff), "FORBIDDEN");
    let by_outsider = w.chef.graphql(REVOKE, json!({ "id": second_id })).await;
    assert_eq!(code(&by_outsider), "NOT_FOUND");
    let revoked = ok(w.owner.graphql(REVOKE, json!({ "id": second_id })).await);
    assert_eq!(
        revoked["revokeInvitation"]["invitation"]["status"],
        "REVOKED"
    );
    let after = w
        .friend
        .graphql(ACCEPT, json!({ "input": { "token": second["token"] } }))
        .await;
    assert_eq!(code(&after), "CONFLICT");
}

#[tokio::test]
async fn owners_list_pending_invitations_and_a_member_who_leaves_takes_its_own() {
    let w = world().await;
    // The friend becomes a second OWNER and invites someone.
    let for_friend = w.invite("friend@s.se", "OWNER").await;
    let joined = ok(w
        .friend
        .graphql(
            ACCEPT,
            json!({ "input": { "id": for_friend["invitation"]["id"] } }),
        )
        .await);
    let friend_id = joined["acceptInvitation"]["membership"]["accountId"].clone();
    let sent = ok(w
        .friend
        .graphql(
            INVITE,
            json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "email": "staff@s.se", "role": "OWNER" } }),
        )
        .await)["inviteMember"]
        .clone();
    const PENDING: &str = "query($id: ID!) { organisationInvitations(organisationType: SUPPLIER, organisationId: $id) { email role status } }";
    let listed = ok(w.owner.graphql(PENDING, json!({ "id": w.supplier })).await);
    assert_eq!(
        listed["organisationInvitations"],
        json!([{ "email": "staff@s.se", "role": "OWNER", "status": "PENDING" }])
    );
    // Only owners and admins list them; outsiders learn nothing.
    assert_eq!(
        code(&w.staff.graphql(PENDING, json!({ "id": w.supplier })).await),
        "NOT_FOUND"
    );

    // The friend is removed: the invitation it sent lapses with it.
    ok(w
        .owner
        .graphql(
            "mutation($id: ID!, $a: ID!) { removeMember(input: {organisationType: SUPPLIER, organisationId: $id, accountId: $a}) { removedAccountId } }",
            json!({ "id": w.supplier, "a": friend_id }),
        )
        .await);
    let late = w
        .staff
        .graphql(ACCEPT, json!({ "input": { "token": sent["token"] } }))
        .await;
    assert_eq!(code(&late), "CONFLICT", "{late}");
    assert!(w.roles(&w.staff).await.is_empty());
    let listed = ok(w.owner.graphql(PENDING, json!({ "id": w.supplier })).await);
    assert_eq!(listed["organisationInvitations"], json!([]));
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let w = world().await;
    let for_friend = w.invite("friend@s.se", "OWNER").await;
    ok(w.friend
        .graphql(
            ACCEPT,
            json!({ "input": { "id": for_friend["invitation"]["id"] } }),
        )
        .await);
    let demote = |email: &str| json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "email": email, "role": "STAFF" } });
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            w.owner.graphql(ADD, demote("friend@s.se")),
            w.friend.graphql(ADD, demote("owner@s.se"))
        );
        let done = [&a, &b]
            .iter()
            .filter(|r| r.get("errors").is_none())
            .count();
        let owners = [w.roles(&w.owner).await, w.roles(&w.friend).await]
            .concat()
            .into_iter()
            .filter(|r| r == "OWNER")
            .count();
        assert!(owners >= 1, "no OWNER left: {a}\n{b}");
        if done == 1 {
            let refused = if a.get("errors").is_some() { &a } else { &b };
            assert!(
                ["CONFLICT", "FORBIDDEN"].contains(&code(refused)),
                "{refused}"
            );
        }
        // The remaining OWNER promotes the other again for the next round.
        let (keeper, email) = if w.roles(&w.owner).await == ["OWNER"] {
            (&w.owner, "friend@s.se")
        } else {
            (&w.friend, "owner@s.se")
        };
        ok(keeper
            .graphql(
                ADD,
                json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "email": email, "role": "OWNER" } }),
            )
            .await);
    }
}
