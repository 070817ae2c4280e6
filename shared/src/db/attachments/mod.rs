//! Files on a ticket: their rows (the bytes are in the blob store).
pub mod manager;
mod repository;

pub use repository::NewAttachment;
