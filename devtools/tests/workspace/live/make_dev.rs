//! The `local-api` binary as `make dev` runs it: it starts the embedded database and the local
//! upstream OpenID provider, serves the API, writes mail to the outbox and announces it with its code, and on Ctrl-C (SIGINT)
//! stops everything it started. Needs the function binaries
//! (`cargo build --workspace --bins`) and `SECANTUSD`, the server binary (`make test` sets both).

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: i32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// Direct children of `pid`, spawned from any of its threads.
fn children(pid: u32) -> Vec<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .flat_map(|task| {
            std::fs::read_to_string(task.unwrap().path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Kills local-api if the test fails half-way, so nothing outlives it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn local_api_serves_and_ctrl_c_stops_everything_it_started() {
    let secantusd = std::env::var("SECANTUSD").unwrap_or_else(|_| {
        panic!("SECANTUSD is not set: run `make test`, or set it to the secantusd-rs binary `make tools` installs")
    });
    let bin_dir = support::bin_dir_with(&["local-api"]);
    let local_api = bin_dir.join("local-api");
    let data_dir = std::env::temp_dir().join(format!("make-dev-{}", std::process::id()));
    let mut child = Command::new(&local_api)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "--bin-dir",
            bin_dir.to_str().unwrap(),
            "--port",
            "0",
            "--secantusd",
            &secantusd,
            "--public-host",
            "localhost",
            "--example-app",
            "examples/spa",
            "--example-port",
            "0",
            "--upstream",
            "devtools/upstream",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .env_remove("MONGODB_URI")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut child = KillOnDrop(child);
    let mut url = None;
    let example = loop {
        let line = lines
            .next()
            .expect("local-api printed its address and the example app's")
            .unwrap();
        if let Some(rest) = line.strip_prefix("local-api listening on ") {
            url = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        if let Some(rest) = line.strip_prefix("example app at ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let url = url.expect("the API's address before the example app's");
    let config = Command::new("curl")
        .args(["-s", &format!("{example}config.json")])
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    let port = url.rsplit(':').next().unwrap();
    assert_eq!(
        config["authority"],
        format!("http://localhost:{port}"),
        "the example app signs in at the issuer, named by localhost for passkeys"
    );
    assert_eq!(config["client_id"], devtools::stack::DEMO_CLIENT_ID);
    let bundle = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{example}oidc-client-ts.js"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&bundle.stdout), "200");
    let (printed, announced) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = printed.send(line);
        }
    });

    let status = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            &format!("{url}/signup"),
        ])
        .args([
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"username":"dave","password":"correct horse battery staple","email":"dave@example.com"}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "201");
    let mail_line = loop {
        let line = announced
            .recv_timeout(Duration::from_secs(5))
            .expect("local-api announced the verification mail within 5 s");
        if line.starts_with("mail to dave@example.com: Verify your email address, code ") {
            break line;
        }
    };
    let eml = mail_line.rsplit_once(" (").unwrap().1.trim_end_matches(')');
    assert!(
        std::path::Path::new(eml).starts_with(data_dir.join("outbox"))
            && std::path::Path::new(eml).is_file(),
        "{mail_line}"
    );
    let authorize = format!(
        "{url}/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A5173%2Fcallback&scope=openid&code_challenge={}&code_challenge_method=S256",
        devtools::stack::DEMO_CLIENT_ID,
        shared::authorization::pkce::s256("dBjftJeZ4CVP-mJ0Hf1Xe-vaNAPcM8vN0QSQqWmQ5yk6bEQcZs"),
    );
    let page = Command::new("curl")
        .args(["-s", "-w", "%{http_code}", &authorize])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.ends_with("200"), "the demo client's sign-in page");
    assert!(
        page.contains("Continue with Local provider"),
        "the local upstream provider's button: {page}"
    );
    let started = children(child.0.id());
    assert!(
        started.len() >= 11,
        "database, the upstream provider and two instances of five functions: {started:?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "local-api did not stop within 20 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "{exit}");
    std::thread::sleep(Duration::from_millis(500));
    let left: Vec<i32> = started.into_iter().filter(|pid| alive(*pid)).collect();
    assert!(left.is_empty(), "still running after Ctrl-C: {left:?}");
    assert!(
        data_dir.join("db").is_dir(),
        "the database kept its data folder"
    );
    assert!(
        data_dir.join("keys/jwt-private.pem").is_file(),
        "a development key pair was created"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
