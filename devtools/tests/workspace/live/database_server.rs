//! A secantusd-rs process the test controls: on a fixed port and data folder, so it can be
//! stopped (SIGTERM) or crashed (SIGKILL) and come back as it was.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub(super) struct Database {
    binary: PathBuf,
    storage: PathBuf,
    options: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl Database {
    /// Starts the server on a free port with its data in `storage`, with `options` added.
    pub(super) fn start(binary: PathBuf, storage: PathBuf, options: &[&str]) -> Self {
        let mut database = Self {
            binary,
            storage,
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            port: 0,
            child: None,
        };
        database.launch();
        database
    }

    /// Starts it again, on the same port (the first start's) and data.
    pub(super) fn launch(&mut self) {
        let mut child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--cache-size", "256M"])
            .args(&self.options)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--storage-path")
            .arg(&self.storage)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("secantusd-rs starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("secantusd-rs reports its port")
                .unwrap();
            if let Some((_, port)) = line.rsplit_once("listening on 127.0.0.1:") {
                break port.trim().parse().unwrap();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        self.port = port;
        self.child = Some(child);
    }

    /// Stops it as an operator would (SIGTERM), and waits for it.
    pub(super) fn stop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
    }

    /// Kills it as a crash would (SIGKILL: no flush, no shutdown), and waits for it.
    pub(super) fn crash(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
    }

    fn signal(&mut self, signal: nix::sys::signal::Signal) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
            let _ = nix::sys::signal::kill(pid, signal);
            let _ = child.wait();
        }
    }

    pub(super) fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}
