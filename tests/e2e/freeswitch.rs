//! FreeSWITCH `mod_callcenter` as an operator runs it: `callpulse source freeswitch` against
//! a fake event socket that speaks the protocol (auth/request, `auth`, `event plain`,
//! Content-Length framed event-plain bodies, values URL-encoded) and drops the connection:
//! the first session refuses the password, the second ends in the middle of calls, the third
//! sends the rest. Through the mock cluster, the engine's totals equal the calls' own; a
//! replay of the same events as captured from the socket gives the same totals.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use callpulse_e2e::totals::{all_queue_totals, settled_totals};
use callpulse_e2e::{Engine, callpulse_binary, mock_cluster, test_config, wall_now};
use serde_json::Value;

const QUEUES: [&str; 2] = ["support@default", "sales@default"];

/// Percent-encodes as FreeSWITCH's event-plain serializer does (written here from the
/// protocol, not with the product's encoder).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn event(action: &str, headers: &[(&str, String)]) -> String {
    let mut body = format!(
        "Event-Name: CUSTOM\nCore-UUID: fake-core\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Action: {action}\n"
    );
    for (name, value) in headers {
        body.push_str(&format!("{name}: {}\n", encode(value)));
    }
    body.push('\n');
    format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n{body}",
        body.len()
    )
}

/// Per queue: (offered, answered, abandoned, completed, talk seconds).
type Totals = BTreeMap<&'static str, (u64, u64, u64, u64, i64)>;

/// Each call's events, in time order per call, and the totals they make.
fn calls(start: i64) -> (Vec<Vec<String>>, Totals) {
    let mut per_call = Vec::new();
    let mut want = Totals::new();
    for i in 0..30i64 {
        let queue = QUEUES[(i % 2) as usize];
        let uuid = format!("member-{i}");
        let joined = start + i * 40;
        let wait = 5 + i % 30;
        let member = |extra: Vec<(&'static str, String)>| {
            let mut h = vec![
                ("CC-Queue", queue.to_owned()),
                ("CC-Member-UUID", uuid.clone()),
                ("CC-Member-Session-UUID", format!("session-{i}")),
                ("CC-Member-CID-Number", format!("+4930{:04}", i % 9)),
                ("CC-Member-CID-Name", "A Caller".to_owned()),
                ("CC-Member-Joined-Time", joined.to_string()),
            ];
            h.extend(extra);
            h
        };
        let t = want.entry(queue).or_default();
        t.0 += 1;
        let mut events = vec![event("member-queue-start", &member(vec![]))];
        if i % 4 == 3 {
            t.2 += 1;
            let reason = if i % 8 == 3 { "TIMEOUT" } else { "NONE" };
            events.push(event(
                "member-queue-end",
                &member(vec![
                    ("CC-Cause", "Cancel".to_owned()),
                    ("CC-Cancel-Reason", reason.to_owned()),
                    ("CC-Member-Leaving-Time", (joined + wait).to_string()),
                ]),
            ));
        } else {
            let talk = 60 + i * 3;
            let agent = format!("10{:02}@default", i % 5);
            let answered = joined + wait;
            t.1 += 1;
            t.3 += 1;
            t.4 += talk;
            let bridged = vec![
                ("CC-Agent", agent.clone()),
                ("CC-Agent-Type", "callback".to_owned()),
                ("CC-Agent-Called-Time", (answered - 2).to_string()),
                ("CC-Agent-Answered-Time", answered.to_string()),
            ];
            events.push(event("bridge-agent-start", &member(bridged.clone())));
            let mut ended = bridged;
            ended.push(("CC-Bridge-Terminated-Time", (answered + talk).to_string()));
            ended.push(("CC-Hangup-Cause", "NORMAL_CLEARING".to_owned()));
            events.push(event("bridge-agent-end", &member(ended)));
            events.push(event(
                "member-queue-end",
                &member(vec![
                    ("CC-Cause", "Terminated".to_owned()),
                    ("CC-Member-Leaving-Time", (answered + talk).to_string()),
                ]),
            ));
        }
        per_call.push(events);
    }
    (per_call, want)
}

/// Reads one client command (lines up to a blank one).
fn command(reader: &mut BufReader<TcpStream>) -> String {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\n" {
            return text;
        }
        text.push_str(&line);
    }
}

/// The fake event socket: one scripted session per connection.
fn serve(listener: TcpListener, sessions: Vec<Option<String>>, done: mpsc::Receiver<()>) {
    for script in sessions {
        let (stream, _) = listener.accept().expect("accept");
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = BufReader::new(stream);
        writer
            .write_all(b"Content-Type: auth/request\n\n")
            .expect("greet");
        let auth = command(&mut reader);
        let Some(events) = script else {
            writer
                .write_all(b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n")
                .expect("refuse");
            continue;
        };
        assert_eq!(auth.trim(), "auth ClueCon", "the configured password");
        writer
            .write_all(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
            .expect("accept");
        let subscribe = command(&mut reader);
        assert_eq!(subscribe.trim(), "event plain CUSTOM callcenter::info");
        // The reply and the first events in one write, as a busy socket sends them.
        let reply = "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n";
        writer
            .write_all(format!("{reply}{events}").as_bytes())
            .expect("events");
    }
    // The last session stays open until the test is done.
    let _ = done.recv_timeout(Duration::from_secs(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_socket_bridge_reconnects_and_loses_nothing_it_was_sent() {
    let start = wall_now().millis() / 1000 - 1800;
    let (per_call, want) = calls(start);
    let want: BTreeMap<String, _> = want.into_iter().map(|(q, t)| (q.to_owned(), t)).collect();
    // Session two ends with some calls queued but not yet ended: their ends come in three.
    let (mut first, mut second) = (String::new(), String::new());
    for (i, events) in per_call.iter().enumerate() {
        for (j, e) in events.iter().enumerate() {
            if i < 15 || (i < 20 && j == 0) {
                first.push_str(e);
            } else {
                second.push_str(e);
            }
        }
    }
    let capture = format!("{first}{second}");

    let mock = mock_cluster(2);
    let brokers = mock.bootstrap_servers();
    let engine = Engine::start(test_config(&brokers, "freeswitch-bridge")).await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let esl = listener.local_addr().expect("addr").to_string();
    let (done_tx, done_rx) = mpsc::channel();
    let server =
        std::thread::spawn(move || serve(listener, vec![None, Some(first), Some(second)], done_rx));
    let dir = std::env::temp_dir().join(format!("callpulse-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = dir.join("bridge.log");
    let mut bridge = Command::new(callpulse_binary())
        .args(["source", "freeswitch", "--esl", &esl, "--brokers", &brokers])
        .args(["--reconnect-max-ms", "400", "--log-format", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("callpulse source freeswitch");

    let got = settled_totals(&engine, 30, &log).await;
    assert_eq!(got, want);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains("refused the credentials"), "{said}");
    assert!(said.contains("closed by the server"), "{said}");
    let _ = bridge.kill();
    let _ = bridge.wait();
    let _ = done_tx.send(());
    let _ = server.join();
    engine.stop().await;

    // The same events, as captured from the socket, replayed.
    let file = dir.join("capture.esl");
    std::fs::write(&file, &capture).expect("capture");
    let out = Command::new(callpulse_binary())
        .args(["replay", "--log-format", "json", "--from", "freeswitch"])
        .arg(&file)
        .output()
        .expect("replay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot: Value = serde_json::from_slice(&out.stdout).expect("snapshot");
    assert_eq!(all_queue_totals(&snapshot), want);
    let _ = std::fs::remove_dir_all(&dir);
}
