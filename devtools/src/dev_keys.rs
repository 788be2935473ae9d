//! The development key pair on disk: `jwt-private.pem` (mode 0600) and `jwt-public.pem`.

use secrecy::ExposeSecret;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// The private key's path in `dir`.
pub fn private_path(dir: &Path) -> PathBuf {
    dir.join("jwt-private.pem")
}

/// The public key's path in `dir`.
pub fn public_path(dir: &Path) -> PathBuf {
    dir.join("jwt-public.pem")
}

/// Writes a new pair into `dir` unless a private key is there already; `Ok(true)` when it
/// wrote one. The private key is created with mode 0600 and never overwritten.
pub fn ensure(dir: &Path) -> Result<bool, String> {
    if private_path(dir).exists() {
        return Ok(false);
    }
    let pair = shared::keys::generate_ed25519()?;
    std::fs::create_dir_all(dir).map_err(|error| format!("creating {}: {error}", dir.display()))?;
    let mut private_file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(private_path(dir))
        .map_err(|error| format!("writing the private key: {error}"))?;
    private_file
        .write_all(pair.private_pem.expose_secret().as_bytes())
        .map_err(|error| format!("writing the private key: {error}"))?;
    std::fs::write(public_path(dir), pair.public_pem)
        .map_err(|error| format!("writing the public key: {error}"))?;
    Ok(true)
}
