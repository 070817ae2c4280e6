//! The caller's tenant at a glance.

use crate::{
    db::stats as stats_db,
    error::Error,
    model::Stats,
    security::{Credential, Requires},
    state::AppState,
};

pub async fn get(state: &AppState, caller: &Credential) -> Result<Stats, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let stats = stats_db::manager::get(&tx, principal.tenant_id).await?;
    tx.commit().await?;
    Ok(stats)
}
