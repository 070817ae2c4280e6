//! Tickets, their timeline and their outbox events.
pub mod manager;
mod repository;

pub use repository::{NewEvent, NewTicket, Outboxed, TicketFilter, TicketPatch};
