//! Who did something, read with what they did: the pair of columns that store an actor
//! (a user's id or an API key's) joined to the user or key, for the timeline and comments.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::DbError,
    model::{Actor, ActorType},
};

/// The select-list columns and joins naming the actor of rows aliased `alias`, whose
/// actor is stored in `user_column` and `key_column`; [`actor`] reads them back.
pub(crate) fn actor_sql(alias: &str, user_column: &str, key_column: &str) -> (String, String) {
    let columns = format!(
        "{alias}.{key_column} AS actor_api_key_id, coalesce({alias}.{user_column}, {alias}.{key_column}) AS actor_id,
         coalesce(u.name, k.name) AS actor_name, u.email AS actor_email"
    );
    let joins = format!(
        "LEFT JOIN users u ON u.tenant_id = {alias}.tenant_id AND u.id = {alias}.{user_column}
         LEFT JOIN api_keys k ON k.tenant_id = {alias}.tenant_id AND k.id = {alias}.{key_column}"
    );
    (columns, joins)
}

pub(crate) fn actor(row: &Row) -> Result<Actor, DbError> {
    Ok(Actor {
        kind: match row.try_get::<_, Option<Uuid>>("actor_api_key_id")? {
            Some(_) => ActorType::ApiKey,
            None => ActorType::User,
        },
        id: row.try_get("actor_id")?,
        name: row.try_get("actor_name")?,
        email: row.try_get("actor_email")?,
    })
}
