//! The mail ticket events send people, decided from the event and written from the
//! addresses the consumer's transaction read: a public reply and a resolution go to the
//! ticket's customer, an assignment to the assignee. Internal notes mail nobody, and
//! nobody is mailed about what they did themselves.

use crate::{
    db::notifications::Written,
    events::{
        EventPayload,
        mailer::{Notice, TicketMail},
    },
    mail::{Mail, Mailer},
    model::ActorType,
};

/// The mail `event` sends, if any.
pub fn mail_of(event: &EventPayload) -> Option<TicketMail> {
    let field = |name: &str| event.after.get(name);
    match event.event_type.as_str() {
        "comment.created" if field("public").and_then(|v| v.as_bool()) == Some(true) => {
            Some(TicketMail::Reply { body: field("body")?.as_str()?.to_owned() })
        }
        "ticket.status_changed" if field("status").and_then(|v| v.as_str()) == Some("RESOLVED") => {
            Some(TicketMail::Resolved)
        }
        "ticket.assigned" => {
            let assignee: uuid::Uuid = field("assigneeId")?.as_str()?.parse().ok()?;
            let own_doing = event.actor_type == ActorType::User && event.actor_id == Some(assignee);
            (!own_doing).then_some(TicketMail::Assigned { assignee: crate::ids::UserId(assignee) })
        }
        _ => None,
    }
}

/// The mail of `notice`, addressed from what its notification's statement read; none when
/// the event sends none or its recipient is gone (an assignee disabled meanwhile).
pub fn compose(notice: &Notice, to: &Written, mailer: &Mailer) -> Option<Mail> {
    let title = &to.ticket_title;
    let link = mailer.page(&format!("/tickets/{}", notice.ticket_id));
    match notice.mail.as_ref()? {
        TicketMail::Reply { body } => Some(Mail {
            to: to.customer_email.clone(),
            subject: format!("Re: {title}"),
            text: format!("Hello {},\n\n{body}\n\n-- \nAbout your request \"{title}\".", to.customer_name),
        }),
        TicketMail::Resolved => Some(Mail {
            to: to.customer_email.clone(),
            subject: format!("Resolved: {title}"),
            text: format!(
                "Hello {},\n\nyour request \"{title}\" has been resolved. If something is still wrong, tell us and we will reopen it.",
                to.customer_name
            ),
        }),
        TicketMail::Assigned { .. } => Some(Mail {
            to: to.user_email.clone()?,
            subject: format!("Assigned to you: {title}"),
            text: format!("The ticket \"{title}\" was assigned to you.\n\n{link}"),
        }),
    }
}
