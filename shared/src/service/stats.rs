//! The caller's tenant at a glance.

use crate::{db::stats as stats_db, error::Error, model::Stats, security::Principal, state::AppState};

pub async fn get(state: &AppState, principal: &Principal) -> Result<Stats, Error> {
    let tx = state.db.begin_for(principal.tenant_id).await?;
    let stats = stats_db::manager::get(&tx, principal.tenant_id).await?;
    tx.commit().await?;
    Ok(stats)
}
