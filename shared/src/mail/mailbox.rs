//! The captured mailbox of a local run: the newest mails in memory, never sent.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Mail;

/// A long local run keeps the newest mails only.
const CAPACITY: usize = 1000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapturedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Default)]
pub struct Mailbox {
    mails: Arc<Mutex<VecDeque<CapturedMail>>>,
}

impl Mailbox {
    pub(super) fn keep(&self, mail: Mail) {
        let captured = CapturedMail { to: mail.to, subject: mail.subject, text: mail.text, created_at: Utc::now() };
        let mut mails = self.mails.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if mails.len() == CAPACITY {
            mails.pop_back();
        }
        mails.push_front(captured);
    }

    /// Newest first; only those to `to` (case-insensitively) when given.
    pub fn list(&self, to: Option<&str>) -> Vec<CapturedMail> {
        let mails = self.mails.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        mails.iter().filter(|m| to.is_none_or(|to| m.to.eq_ignore_ascii_case(to.trim()))).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, subject: &str) -> Mail {
        Mail { to: to.into(), subject: subject.into(), text: "body".into() }
    }

    #[test]
    fn lists_newest_first_by_address_and_keeps_a_bounded_number() {
        let mailbox = Mailbox::default();
        mailbox.keep(mail("ann@acme.test", "first"));
        mailbox.keep(mail("bob@acme.test", "other"));
        mailbox.keep(mail("Ann@Acme.test", "second"));
        let subjects: Vec<String> = mailbox.list(Some("ann@acme.test")).into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["second", "first"]);
        assert_eq!(mailbox.list(None).len(), 3);
        for i in 0..CAPACITY {
            mailbox.keep(mail("flood@acme.test", &i.to_string()));
        }
        assert_eq!(mailbox.list(None).len(), CAPACITY);
        assert!(mailbox.list(Some("ann@acme.test")).is_empty(), "the oldest went first");
    }
}
