//! Helpers shared by the devtools integration tests.

use std::path::PathBuf;

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
