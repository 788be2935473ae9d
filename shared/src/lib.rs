//! Everything the Lambda functions share, in folders by domain. Each folder uses only the
//! folders listed before it here (`tests::imports_run_one_way_between_the_folders` keeps it so; [`testing`] is
//! for tests and may use any).
//!
//! | folder | what it holds |
//! |---|---|
//! | [`platform`] | settings and secrets, logs and metrics, the clock, the MongoDB connection, the HTTP vocabulary, the Lambda event loop |
//! | [`identity`] | account ids, usernames and passwords as typed, addresses, the accounts, each account's security history |
//! | [`products`] | the product catalogue |
//! | [`access`] | scopes and the routes that need them, roles, machine clients, relying parties and their redirect URIs |
//! | [`tokens`] | EdDSA access tokens, their keys, settings and issuer |
//! | [`sessions`] | sessions and their rotating refresh tokens |
//! | [`factors`] | password hashing and breach checks, TOTP, recovery codes, passkeys |
//! | [`abuse`] | login lockouts, rate limits, leases |
//! | [`hooks`] | the operator's Lambda functions at fixed points of the flows, with Cognito's trigger events |
//! | [`mail`] | messages, the SES sender and local outbox, emailed codes |
//! | [`authorization`] | the authorization-code flow: codes, PKCE |
//! | [`stores`] | every store behind one type parameter |
//! | [`lifecycle`] | revocation when credentials change, account removal, the last administrator |
//! | [`federation`] | upstream providers, their id_tokens, sign-ins under way, account linking |
//! | [`edge`] | the shared cold start, the caller the authorizer established |
//!
//! A store is a folder: its trait and domain types in `mod.rs`, its MongoDB implementation in
//! `mongo.rs`, its in-memory fake in `fake.rs` and the contract cases both must keep in
//! `contract.rs`. `CONTRIBUTING.md` walks through adding one.
//!
//! # Features
//!
//! - `database` (default): the stores, [`edge::principal`], [`edge::startup::with_database`],
//!   the second factor's codes and encryption at rest, addresses and mail.
//! - `passkeys`: WebAuthn ceremonies (the `webauthn_rp` crate), for `token` and `account`.
//! - `federation`: [`federation`], signing in through upstream providers, for `login` and
//!   `token`.
//! - `hooks`: [`hooks`], calling the operator's Lambda functions (Lambda's Invoke API, SigV4),
//!   for the functions with a trigger point.
//! - `breach-check`: [`factors::breached_passwords`], the k-anonymity range check of new
//!   passwords, for `signup`, `account` and `recovery`.
//! - `aws-secrets` (default): `NAME_SECRET_ARN` values fetched from AWS Secrets Manager;
//!   without it a function refuses to start when one is set.
//!
//! `docs` uses neither, `authorizer` and `jwks` only `aws-secrets`: built alone (as `sam
//! build` builds each function), they compile neither the MongoDB driver nor the AWS SDK
//! they do not use.

pub mod access;
pub mod edge;
pub mod factors;
pub mod identity;
pub mod platform;
pub mod tokens;

#[cfg(feature = "database")]
pub mod abuse;
#[cfg(feature = "database")]
pub mod authorization;
#[cfg(feature = "federation")]
pub mod federation;
#[cfg(feature = "hooks")]
pub mod hooks;
#[cfg(feature = "database")]
pub mod lifecycle;
#[cfg(feature = "database")]
pub mod mail;
#[cfg(feature = "database")]
pub mod products;
#[cfg(feature = "database")]
pub mod sessions;
#[cfg(feature = "database")]
pub mod stores;

#[cfg(all(feature = "database", any(test, feature = "test-support")))]
pub mod testing;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The folders in the order of the table above: each may use only those before it.
    const FOLDERS: [&str; 15] = [
        "platform",
        "identity",
        "products",
        "access",
        "tokens",
        "sessions",
        "factors",
        "abuse",
        "hooks",
        "mail",
        "authorization",
        "stores",
        "lifecycle",
        "federation",
        "edge",
    ];

    fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }

    /// The folders the code of `text` names as `crate::<folder>`, before its tests and
    /// leaving out comments and the test helpers.
    fn used_folders(text: &str) -> Vec<String> {
        let mut used = Vec::new();
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != "testing" {
                    used.push(name);
                }
            }
        }
        used
    }

    #[test]
    fn imports_run_one_way_between_the_folders() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let rank = |folder: &str| FOLDERS.iter().position(|known| *known == folder);
        let mut wrong = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&root).unwrap();
            let folder = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            let test_only = matches!(
                relative.file_name().and_then(|name| name.to_str()),
                Some("contract.rs" | "live.rs" | "tests.rs")
            );
            if folder == "lib" || folder == "testing" || test_only {
                continue;
            }
            let own = rank(&folder).unwrap_or_else(|| panic!("{folder} is not in FOLDERS"));
            for used in used_folders(&std::fs::read_to_string(file).unwrap()) {
                let theirs = rank(&used).unwrap_or_else(|| panic!("{used} is not in FOLDERS"));
                if used != folder && theirs >= own {
                    wrong.push(format!("{} uses crate::{used}", relative.display()));
                }
            }
        }
        wrong.sort();
        wrong.dedup();
        assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
    }
}
