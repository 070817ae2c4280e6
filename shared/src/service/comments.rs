//! A ticket's conversation: public replies and internal notes by the tenant's users and
//! API keys. Each comment emits `comment.created`; the consumer mails a public one to the
//! ticket's customer.

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;

use super::{pipeline, validate::not_blank};
use crate::{
    db::{comments as comments_db, comments::NewComment, tickets as tickets_db},
    error::Error,
    events::OutboxEvent,
    ids::{CommentId, EventId, TicketId},
    model::Comment,
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
};

pub const COMMENT_CREATED: &str = "comment.created";

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateCommentInput {
    #[validate(
        length(min = 1, max = 20000, message = "must be 1 to 20000 characters"),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub body: String,
    /// `true` (the default) for a reply the customer is mailed; `false` for an internal
    /// note only the tenant's users see.
    pub public: Option<bool>,
}

pub async fn create(
    state: &AppState,
    caller: &Credential,
    ticket: TicketId,
    input: CreateCommentInput,
) -> Result<Comment, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    let new = NewComment {
        id: CommentId::generate(),
        ticket,
        author: principal.actor,
        body: &input.body,
        public: input.public.unwrap_or(true),
    };
    let after = json!({"commentId": new.id, "public": new.public, "body": new.body});
    let event = OutboxEvent::new(EventId::generate(), COMMENT_CREATED, tenant, ticket, new.author, Value::Null, after);
    let comment = comments_db::manager::create_and_commit(tx, tenant, &new, &event).await?;
    pipeline::publish_committed(state, vec![event]).await;
    Ok(comment)
}

/// One page of the conversation, oldest first.
pub async fn list(
    state: &AppState,
    caller: &Credential,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Page<Comment>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    // A ticket of another tenant is as absent as one that never existed. Both reads go
    // out together (one round trip).
    let (_, comments) = tokio::try_join!(
        tickets_db::manager::get(&tx, tenant, ticket),
        comments_db::manager::list(&tx, tenant, ticket, page)
    )?;
    tx.commit().await?;
    Ok(page.into_page(comments, |c| c.id.0))
}
