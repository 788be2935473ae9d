//! Helpers shared by the workspace tests.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The function crates under `functions/`: each is one Lambda function and one binary.
pub fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(workspace().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The API model of `template.yaml`, with placeholder values for the secret ARNs.
pub fn template_model() -> devtools::template::ApiModel {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let overrides = [
        "MongoDbUriSecretArn",
        "JwtPrivateKeySecretArn",
        "JwtPublicKeySecretArn",
        "SecondFactorKeysSecretArn",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), "x".to_owned()))
    .collect();
    devtools::template::parse(&text, &overrides).unwrap()
}

/// [`bin_dir_with`] every function binary.
pub fn bin_dir_with_functions() -> PathBuf {
    let functions = function_crates();
    let names: Vec<&str> = functions.iter().map(String::as_str).collect();
    bin_dir_with(&names)
}

/// `target/<profile>`, where cargo put this test and the workspace binaries. Fails with how
/// to build them when any of `binaries` is missing: these tests never skip.
pub fn bin_dir_with(binaries: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .to_path_buf();
    for binary in binaries {
        assert!(
            dir.join(binary).is_file(),
            "{} is missing: build the binaries first with `cargo build --workspace --bins` (make test does)",
            dir.join(binary).display()
        );
    }
    dir
}

/// Each hook: its condition, its ARN parameter, the variable that names it to a function, and
/// the functions that call it.
pub const HOOKS: [(&str, &str, &str, &[&str]); 5] = [
    (
        "HasPostConfirmationHook",
        "PostConfirmationHookArn",
        "HOOK_POST_CONFIRMATION",
        &["SignupFunction", "RecoveryFunction"],
    ),
    (
        "HasCustomMessageHook",
        "CustomMessageHookArn",
        "HOOK_CUSTOM_MESSAGE",
        &[
            "SignupFunction",
            "LoginFunction",
            "AccountFunction",
            "RecoveryFunction",
        ],
    ),
    (
        "HasPreSignUpHook",
        "PreSignUpHookArn",
        "HOOK_PRE_SIGN_UP",
        &["SignupFunction", "LoginFunction", "TokenFunction"],
    ),
    (
        "HasPreTokenGenerationHook",
        "PreTokenGenerationHookArn",
        "HOOK_PRE_TOKEN_GENERATION",
        &["TokenFunction"],
    ),
    (
        "HasUserMigrationHook",
        "UserMigrationHookArn",
        "HOOK_USER_MIGRATION",
        &["TokenFunction", "LoginFunction", "RecoveryFunction"],
    ),
];
