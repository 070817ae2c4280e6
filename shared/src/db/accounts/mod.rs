//! Sign-ups awaiting verification, password resets and invitations (migration V6).
pub mod manager;
mod repository;

pub use repository::{NewInvitation, NewSignup, StoredInvitation, StoredReset, StoredSignup};
