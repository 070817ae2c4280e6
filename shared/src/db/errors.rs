//! `DbError`: what repositories return. DB managers turn it into the domain `Error`;
//! nothing above them sees the driver's error type.

use tokio_postgres::error::SqlState;

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Driver(#[from] tokio_postgres::Error),
    /// A stored value the schema should have made impossible.
    #[error("unexpected stored value: {0}")]
    Corrupt(String),
}

impl DbError {
    /// The constraint a unique/foreign-key/check violation names, if any.
    pub fn violated_constraint(&self) -> Option<(&SqlState, &str)> {
        let DbError::Driver(e) = self else {
            return None;
        };
        let db = e.as_db_error()?;
        Some((db.code(), db.constraint()?))
    }

    pub fn is_unique_violation(&self, constraint: &str) -> bool {
        matches!(self.violated_constraint(), Some((code, c)) if *code == SqlState::UNIQUE_VIOLATION && c == constraint)
    }

    pub fn is_foreign_key_violation(&self, constraint: &str) -> bool {
        matches!(self.violated_constraint(), Some((code, c)) if *code == SqlState::FOREIGN_KEY_VIOLATION && c == constraint)
    }

    /// The connection is gone (closed, an I/O error, the server terminated the session):
    /// nothing more will run on it.
    pub fn is_connection_lost(&self) -> bool {
        let DbError::Driver(e) = self else {
            return false;
        };
        e.is_closed()
            || e.as_db_error().is_none()
            || e.code().is_some_and(|c| [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN].contains(c))
    }

    /// The fallback mapping, after a manager has handled the violations it expects.
    pub fn into_error(self, operation: &'static str) -> Error {
        match self {
            DbError::Driver(e) => unavailable_or_internal(operation, &e),
            DbError::Corrupt(what) => {
                tracing::error!(operation, what, "unexpected stored value");
                Error::Internal(format!("{operation}: {what}"))
            }
        }
    }
}

/// Lost connections, restarts, overload and the server's time budgets (a statement or a
/// lock wait cut short) are the client's cue to retry (503); anything
/// else is a bug (500). Both keep the driver's text out of the response.
pub fn unavailable_or_internal(operation: &'static str, e: &tokio_postgres::Error) -> Error {
    let transient = e.is_closed()
        || e.as_db_error().is_none()
        || e.code().is_some_and(|c| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::QUERY_CANCELED,
                SqlState::LOCK_NOT_AVAILABLE,
            ]
            .contains(c)
        });
    tracing::error!(operation, error = %e, code = ?e.code().map(SqlState::code), "database error");
    if transient {
        Error::Unavailable(format!("{operation}: {e}"))
    } else {
        Error::Internal(format!("{operation}: {e}"))
    }
}
