//! The one shape of every list query: `<select> WHERE tenant_id = $1 [AND filter = $n]...
//! [AND id < $cursor] ORDER BY id DESC LIMIT $n`. Only the filters given appear in the SQL,
//! so each combination is its own prepared statement, planned as a keyset scan of the
//! index that leads with its filter.

use tokio_postgres::{Row, types::ToSql};
use uuid::Uuid;

use crate::db::{DbError, Tx};

pub(crate) struct KeysetQuery<'a> {
    sql: String,
    params: Vec<&'a (dyn ToSql + Sync)>,
}

impl<'a> KeysetQuery<'a> {
    /// `select` ends with the `WHERE` its `tenant_id` column is named in (`t.tenant_id`).
    pub(crate) fn new(select: String, tenant_column: &str, tenant: &'a Uuid) -> Self {
        Self { sql: format!("{select} WHERE {tenant_column} = $1"), params: vec![tenant] }
    }

    /// Adds `AND <condition> $n` when the filter is given; `condition` ends in its operator.
    pub(crate) fn and<T: ToSql + Sync>(mut self, condition: &str, value: &'a Option<T>) -> Self {
        if let Some(v) = value {
            self.params.push(v);
            self.sql.push_str(&format!(" AND {condition} ${}", self.params.len()));
        }
        self
    }

    /// Adds `AND <condition>` (a condition without parameters) when `on`.
    pub(crate) fn and_if(mut self, on: bool, condition: &str) -> Self {
        if on {
            self.sql.push_str(&format!(" AND {condition}"));
        }
        self
    }

    /// Newest first after the cursor's row, at most `limit` rows.
    pub(crate) async fn fetch(
        self,
        tx: &Tx,
        id_column: &str,
        after: &'a Option<Uuid>,
        limit: &'a i64,
    ) -> Result<Vec<Row>, DbError> {
        let query = self.paged(id_column, after, limit);
        let stmt = tx.client().prepare_cached(&query.sql).await?;
        Ok(tx.client().query(&stmt, &query.params).await?)
    }

    /// The plan [`fetch`](Self::fetch) would run, as EXPLAIN (ANALYZE) prints it.
    #[cfg(test)]
    pub(crate) async fn explain(
        self,
        tx: &Tx,
        id_column: &str,
        after: &'a Option<Uuid>,
        limit: &'a i64,
    ) -> Result<String, DbError> {
        let query = self.paged(id_column, after, limit);
        let rows = tx.client().query(&format!("EXPLAIN (ANALYZE, COSTS OFF) {}", query.sql), &query.params).await?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n"))
    }

    /// The SQL [`fetch`](Self::fetch) would run.
    #[cfg(test)]
    pub(crate) fn paged_sql(self, id_column: &str, after: &'a Option<Uuid>, limit: &'a i64) -> String {
        self.paged(id_column, after, limit).sql
    }

    fn paged(mut self, id_column: &str, after: &'a Option<Uuid>, limit: &'a i64) -> Self {
        self = self.and(&format!("{id_column} <"), after);
        self.params.push(limit);
        self.sql.push_str(&format!(" ORDER BY {id_column} DESC LIMIT ${}", self.params.len()));
        self
    }
}
