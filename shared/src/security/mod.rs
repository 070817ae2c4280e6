//! Passwords, access tokens, refresh tokens and the caller's identity.

pub mod api_key;
pub mod opaque;
pub mod password;
pub mod principal;
pub mod refresh;
pub mod tokens;

pub use principal::{ActorId, Credential, Principal, Requires};
pub use tokens::TokenKeys;
