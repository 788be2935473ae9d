//! Checks that the pinned Swagger UI assets (npm `swagger-ui-dist`, see package.json) are
//! installed next to this crate, so `include_bytes!` can embed them, and says how to get them.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dist = Path::new(&manifest).join("node_modules/swagger-ui-dist");
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
    ] {
        let path = dist.join(asset);
        assert!(
            path.is_file(),
            "{} is missing: run `make docs-assets` (npm ci --ignore-scripts in functions/docs) \
             to install the pinned swagger-ui-dist",
            path.display()
        );
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed=../../openapi.yaml");
}
