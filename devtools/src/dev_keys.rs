//! The development keys on disk: the JWT pair `jwt-private.pem` (mode 0600) and
//! `jwt-public.pem`, each holding an Ed25519 key (access tokens) and an RSA key (RS256
//! id_tokens) as two PEM blocks, and `second-factor-keys` (mode 0600), the data key that seals TOTP
//! secrets, in `SECOND_FACTOR_KEYS` form.

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

/// Writes new keys into `dir` unless a private key is there already; `Ok(true)` when it
/// wrote any. The private key file is created with mode 0600 and never overwritten: a file
/// from before id_tokens, with the Ed25519 key alone, gets an RSA key appended to each file.
pub fn ensure(dir: &Path) -> Result<bool, String> {
    if private_path(dir).exists() {
        return ensure_id_token_key(dir);
    }
    let pair = shared::tokens::keys::generate_ed25519()?;
    let rsa = shared::tokens::keys::generate_rsa(ID_TOKEN_KEY_BITS)?;
    std::fs::create_dir_all(dir).map_err(|error| format!("creating {}: {error}", dir.display()))?;
    let mut private_file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(private_path(dir))
        .map_err(|error| format!("writing the private key: {error}"))?;
    let private = format!(
        "{}{}",
        pair.private_pem.expose_secret(),
        rsa.private_pem.expose_secret()
    );
    private_file
        .write_all(private.as_bytes())
        .map_err(|error| format!("writing the private key: {error}"))?;
    std::fs::write(
        public_path(dir),
        format!("{}{}", pair.public_pem, rsa.public_pem),
    )
    .map_err(|error| format!("writing the public key: {error}"))?;
    Ok(true)
}

/// The size of the development id_token key, in bits.
pub const ID_TOKEN_KEY_BITS: usize = 2048;

fn ensure_id_token_key(dir: &Path) -> Result<bool, String> {
    let private = std::fs::read_to_string(private_path(dir))
        .map_err(|error| format!("reading the private key: {error}"))?;
    let has_rsa = pem::parse_many(&private)
        .map_err(|error| format!("reading the private key: {error}"))?
        .iter()
        .any(shared::tokens::id_tokens::is_rsa_private_key);
    if has_rsa {
        return Ok(false);
    }
    let rsa = shared::tokens::keys::generate_rsa(ID_TOKEN_KEY_BITS)?;
    let append = |path: PathBuf, text: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|error| format!("appending to {}: {error}", path.display()))
    };
    append(private_path(dir), rsa.private_pem.expose_secret())?;
    append(public_path(dir), &rsa.public_pem)?;
    Ok(true)
}

/// The second-factor data keys' path in `dir`.
pub fn second_factor_keys_path(dir: &Path) -> PathBuf {
    dir.join("second-factor-keys")
}

/// Writes a new random data key (`dev-1:base64`) into `dir` unless one is there already;
/// `Ok(true)` when it wrote one. Created with mode 0600 and never overwritten: the TOTP
/// enrolments in the local database need it.
pub fn ensure_second_factor_keys(dir: &Path) -> Result<bool, String> {
    let path = second_factor_keys_path(dir);
    if path.exists() {
        return Ok(false);
    }
    let line = new_second_factor_key("dev-1")?;
    std::fs::create_dir_all(dir).map_err(|error| format!("creating {}: {error}", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|error| format!("writing the data key: {error}"))?;
    file.write_all(line.as_bytes())
        .map_err(|error| format!("writing the data key: {error}"))?;
    Ok(true)
}

/// A new random data key entry, `id:base64` of 32 bytes, as `SECOND_FACTOR_KEYS` lists them.
pub fn new_second_factor_key(id: &str) -> Result<String, String> {
    use base64::Engine as _;
    let mut key = [0_u8; shared::factors::secret_box::KEY_BYTES];
    getrandom::fill(&mut key).map_err(|error| format!("no randomness for a data key: {error}"))?;
    Ok(format!(
        "{id}:{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}
