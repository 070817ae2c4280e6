//! Mail to people: sign-up verification, password resets, invitations.
//!
//! Two real transports, chosen by configuration (`MAIL_TRANSPORT`): SES in AWS (and
//! against moto or LocalStack with `SES_ENDPOINT_URL`), and a captured mailbox that
//! `crm-local` shows at `GET /_local/mailbox?to=`, so that someone running the API on a
//! laptop can read the verification mail of the account they just signed up for.

mod mailbox;
mod ses;

use std::sync::Arc;

pub use mailbox::{CapturedMail, Mailbox};

use crate::{
    config::{Config, MailTransport},
    error::Error,
};

/// One plain-text message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

enum Transport {
    Captured(Mailbox),
    Ses(ses::SesMailer),
}

/// Built once per container; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    base_url: Arc<str>,
}

impl Mailer {
    pub fn new(config: &Config) -> Self {
        let transport = match config.mail_transport {
            MailTransport::Captured => Transport::Captured(Mailbox::default()),
            MailTransport::Ses => {
                Transport::Ses(ses::SesMailer::new(&config.mail_from, config.ses_endpoint_url.as_deref()))
            }
        };
        Self { transport: Arc::new(transport), base_url: config.app_base_url.trim_end_matches('/').into() }
    }

    /// A link to the page at `path` that redeems `token`: `<APP_BASE_URL><path>?token=<token>`.
    /// Tokens are base64url, so they need no escaping.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}?token={token}", self.page(path))
    }

    /// The page at `path` under `APP_BASE_URL`.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn send(&self, mail: Mail) -> Result<(), Error> {
        match &*self.transport {
            Transport::Captured(mailbox) => {
                // The text carries a token: it is never logged.
                tracing::info!(subject = %mail.subject, "mail captured for the local mailbox");
                mailbox.keep(mail);
                Ok(())
            }
            Transport::Ses(ses) => ses.send(&mail).await,
        }
    }

    /// The captured mailbox, when mail is captured rather than sent.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match &*self.transport {
            Transport::Captured(mailbox) => Some(mailbox),
            Transport::Ses(_) => None,
        }
    }
}
