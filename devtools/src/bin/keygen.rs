//! `keygen <dir>`: writes `jwt-private.pem` (mode 0600) and `jwt-public.pem` into `<dir>`,
//! each an Ed25519 key (access tokens) and an RSA key (id_tokens), unless a private key is
//! already there (one without an RSA key gets one appended). For local development; production keys go into
//! AWS Secrets Manager.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: keygen <directory>");
        return ExitCode::from(2);
    };
    match devtools::dev_keys::ensure(&dir) {
        Ok(true) => println!("wrote new keys to {}", dir.display()),
        Ok(false) => println!("keeping the existing keys in {}", dir.display()),
        Err(error) => {
            eprintln!("keygen failed: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
