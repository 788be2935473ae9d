//! `env-json <key dir> <mongodb uri> <out>`: writes the `--env-vars` file for `sam local`
//! (mode 0600) with the development key pair in `<key dir>` (made if missing) and the given
//! MongoDB connection string. See `devtools::sam_local`.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key_dir, mongodb_uri, out] = args.as_slice() else {
        eprintln!("usage: env-json <key dir> <mongodb uri> <out file>");
        return ExitCode::from(2);
    };
    match write(&PathBuf::from(key_dir), mongodb_uri, &PathBuf::from(out)) {
        Ok(()) => {
            println!(
                "wrote {out}: sam local invoke <Function> -e events/<event>.json --env-vars {out}"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("env-json failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(
    key_dir: &std::path::Path,
    mongodb_uri: &str,
    out: &std::path::Path,
) -> Result<(), String> {
    devtools::dev_keys::ensure(key_dir)?;
    devtools::dev_keys::ensure_second_factor_keys(key_dir)?;
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))
    };
    let values = devtools::sam_local::LocalValues {
        mongodb_uri: mongodb_uri.to_owned(),
        database_name: "lambda_auth".to_owned(),
        private_pem: read(devtools::dev_keys::private_path(key_dir))?,
        public_pem: read(devtools::dev_keys::public_path(key_dir))?,
        second_factor_keys: read(devtools::dev_keys::second_factor_keys_path(key_dir))?,
    };
    let template = read(PathBuf::from("template.yaml"))?;
    // Only the variables' names matter here; the ARNs are emptied in the file.
    let placeholders = [
        "MongoDbUriSecretArn",
        "JwtPrivateKeySecretArn",
        "JwtPublicKeySecretArn",
        "SecondFactorKeysSecretArn",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), "unused".to_owned()))
    .collect();
    let model =
        devtools::template::parse(&template, &placeholders).map_err(|error| error.to_string())?;
    let document = devtools::sam_local::env_vars(&model, &values);
    let text = serde_json::to_string_pretty(&document).map_err(|error| error.to_string())?;
    let _ = std::fs::remove_file(out);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|error| format!("{}: {error}", out.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|error| error.to_string())
}
