//! Passwords, access tokens, refresh tokens and the caller's identity.

pub mod opaque;
pub mod password;
pub mod principal;
pub mod refresh;
pub mod tokens;

pub use principal::{Credential, Principal, Requires};
pub use tokens::TokenKeys;
