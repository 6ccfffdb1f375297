//! Processes the end-to-end tests start and stop: `callpulse demo`, a Prometheus server, an
//! Alertmanager; each killed when its guard drops, however the test ends.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callpulse_events::{CallAnswered, CallQueued, Envelope, Event, Ts};

use crate::{callpulse_binary, eventually, free_port};

/// A child process, killed when dropped.
#[derive(Debug)]
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `callpulse demo` with `args` on a free port, and the address it printed.
pub async fn spawn_demo(args: &[&str]) -> (Guard, SocketAddr) {
    let mut demo = Guard(
        Command::new(callpulse_binary())
            .args(["demo", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("demo starts"),
    );
    let stdout = demo.0.stdout.take().expect("stdout");
    let addr = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            if let Some(url) = line.trim().strip_prefix("wallboard: http://") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("demo exited without printing its URL");
    });
    let addr = tokio::time::timeout(Duration::from_secs(90), addr)
        .await
        .expect("URL printed within 90 s")
        .expect("reader")
        .parse()
        .expect("socket address");
    (demo, addr)
}

/// Starts Debian's `prometheus` with `dir/prometheus.yml` (its data and log in `dir`) on a
/// free loopback port and waits until it listens.
pub async fn start_prometheus(dir: &Path) -> (Guard, SocketAddr) {
    start_server(dir, "prometheus", |port| {
        vec![
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("prom-data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ]
    })
    .await
}

/// Starts Debian's `prometheus-alertmanager` with `dir/alertmanager.yml` on a free loopback
/// port (clustering off) and waits until it listens.
pub async fn start_alertmanager(dir: &Path) -> (Guard, SocketAddr) {
    start_server(dir, "prometheus-alertmanager", |port| {
        vec![
            format!("--config.file={}", dir.join("alertmanager.yml").display()),
            format!("--storage.path={}", dir.join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_owned(),
        ]
    })
    .await
}

/// Starts the Debian package's `program` with `args(port)` on a free loopback port, its
/// stderr in `dir/PROGRAM.log`, and waits until it listens.
async fn start_server(
    dir: &Path,
    program: &str,
    args: impl FnOnce(u16) -> Vec<String>,
) -> (Guard, SocketAddr) {
    let port = free_port();
    let server = Guard(
        Command::new(program)
            .args(args(port))
            .stdout(Stdio::null())
            .stderr(log(dir, &format!("{program}.log")))
            .spawn()
            .unwrap_or_else(|e| panic!("{program} (its Debian package): {e}")),
    );
    let addr = listening(port, program).await;
    (server, addr)
}

fn log(dir: &Path, name: &str) -> Stdio {
    std::fs::File::create(dir.join(name)).map_or_else(|_| Stdio::null(), Stdio::from)
}

async fn listening(port: u16, what: &str) -> SocketAddr {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    eventually(
        Duration::from_secs(60),
        &format!("{what} listening"),
        || async { tokio::net::TcpStream::connect(addr).await.ok().map(drop) },
    )
    .await;
    addr
}

/// A Prometheus instant query: the HTTP status and the JSON answer.
pub async fn prometheus_query(prometheus: SocketAddr, expr: &str) -> (u16, serde_json::Value) {
    let encoded: String = expr
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) =
        crate::http_get(prometheus, &format!("/api/v1/query?query={encoded}")).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// `call_queued` for call `id` in `queue` at `at` (event id `{id}-q`).
pub fn queued(id: &str, queue: &str, at: Ts) -> Envelope {
    Envelope {
        event_id: format!("{id}-q"),
        ts: at,
        event: Event::CallQueued(CallQueued {
            call_id: id.to_owned(),
            queue: queue.to_owned(),
            customer_id: None,
            priority: None,
            transferred_from: None,
        }),
    }
}

/// `call_answered` for call `id` in `queue` at `at` by `agent-1` (event id `{id}-a`).
pub fn answered(id: &str, queue: &str, at: Ts) -> Envelope {
    Envelope {
        event_id: format!("{id}-a"),
        ts: at,
        event: Event::CallAnswered(CallAnswered {
            call_id: id.to_owned(),
            queue: queue.to_owned(),
            agent_id: "agent-1".to_owned(),
        }),
    }
}
