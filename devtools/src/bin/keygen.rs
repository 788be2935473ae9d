//! `keygen <dir>`: writes `jwt-private.pem` (mode 0600) and `jwt-public.pem` into `<dir>`,
//! unless a private key is already there. For local development; production keys go into
//! AWS Secrets Manager.

use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: keygen <directory>");
        return ExitCode::from(2);
    };
    let private_path = dir.join("jwt-private.pem");
    if private_path.exists() {
        println!("keeping the existing key pair in {}", dir.display());
        return ExitCode::SUCCESS;
    }
    match write_pair(&dir, &private_path) {
        Ok(()) => {
            println!("wrote a new Ed25519 key pair to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("keygen failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write_pair(dir: &std::path::Path, private_path: &std::path::Path) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let pair = shared::keys::generate_ed25519()?;
    std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
    let mut private_file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(private_path)
        .map_err(|error| error.to_string())?;
    private_file
        .write_all(pair.private_pem.expose_secret().as_bytes())
        .map_err(|error| error.to_string())?;
    std::fs::write(dir.join("jwt-public.pem"), pair.public_pem).map_err(|error| error.to_string())
}
