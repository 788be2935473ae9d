//! Mail to users: the messages and the local outbox ([`message`]), delivery through Amazon
//! SES or the outbox ([`sender`]), the single-use codes mail carries ([`email_codes`], a
//! store) and the steps the mail-sending routes share with their rate limits ([`flows`]).
//!
//! Builds on every folder below [`crate::stores`] except [`crate::lifecycle`] and
//! [`crate::edge`].

#[cfg(feature = "hooks")]
pub mod custom;
pub mod email_codes;
pub mod flows;
pub mod message;
pub mod sender;
