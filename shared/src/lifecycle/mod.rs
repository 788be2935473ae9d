//! Rules over a whole account, across the stores of the [`crate::stores::Stores`] bundle:
//! what ends when its credentials change ([`revocation`]), deleting it with everything keyed
//! to it ([`account_removal`]), and keeping one enabled administrator ([`administrators`]).

pub mod account_removal;
pub mod administrators;
pub mod revocation;
