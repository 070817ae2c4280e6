//! A ticket's conversation: public replies and internal notes.
pub mod manager;
mod repository;

pub use repository::NewComment;
