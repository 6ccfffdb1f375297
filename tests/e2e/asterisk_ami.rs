//! Asterisk's Manager Interface as an operator connects it: `callpulse source asterisk-ami`
//! against a fake manager that speaks the protocol (banner line, `Action: Login`, `\r\n`
//! messages, `timestampevents = yes`) and drops the connection: the first session refuses
//! the secret, the second ends in the middle of calls, the third sends the rest. Answers come
//! after a QueueCallerLeave, as Asterisk sends them; a timeout is a bare leave. Through the
//! mock cluster, the engine's totals equal the calls' own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use callpulse_e2e::totals::settled_totals;
use callpulse_e2e::{Engine, callpulse_binary, mock_cluster, test_config, wall_now};

const QUEUES: [&str; 2] = ["support", "sales"];

fn message(event: &str, at: i64, headers: &[(&str, String)]) -> String {
    let mut text = format!("Event: {event}\r\nPrivilege: agent,all\r\nTimestamp: {at}.000000\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// Per queue: (offered, answered, abandoned, completed, talk seconds).
type Totals = BTreeMap<String, (u64, u64, u64, u64, i64)>;

fn calls(start: i64) -> (Vec<Vec<String>>, Totals) {
    let mut per_call = Vec::new();
    let mut want = Totals::new();
    for i in 0..24i64 {
        let queue = QUEUES[(i % 2) as usize];
        let id = format!("1796000{i:03}.{i}");
        let joined = start + i * 45;
        let hold = 4 + i % 25;
        let key = |extra: Vec<(&'static str, String)>| {
            let mut h = vec![("Queue", queue.to_owned()), ("Uniqueid", id.clone())];
            h.extend(extra);
            h
        };
        let t = want.entry(queue.to_owned()).or_default();
        t.0 += 1;
        let mut events = vec![message(
            "QueueCallerJoin",
            joined,
            &key(vec![
                ("Channel", format!("PJSIP/trunk-{i:08}")),
                ("CallerIDNum", format!("+4930{i:04}")),
                ("Position", "1".into()),
                ("Count", "1".into()),
            ]),
        )];
        let left = joined + hold;
        match i % 6 {
            // The caller hangs up: abandon, then leave.
            4 => {
                t.2 += 1;
                events.push(message(
                    "QueueCallerAbandon",
                    left,
                    &key(vec![
                        ("HoldTime", hold.to_string()),
                        ("Position", "1".into()),
                    ]),
                ));
                events.push(message("QueueCallerLeave", left, &key(vec![])));
            }
            // Timeout: a leave only.
            5 => {
                t.2 += 1;
                events.push(message("QueueCallerLeave", left, &key(vec![])));
            }
            _ => {
                let talk = 50 + i * 4;
                let member = format!("Agent {}", i % 4);
                t.1 += 1;
                t.3 += 1;
                t.4 += talk;
                events.push(message("QueueCallerLeave", left, &key(vec![])));
                events.push(message(
                    "AgentConnect",
                    left,
                    &key(vec![
                        ("MemberName", member.clone()),
                        ("Interface", format!("PJSIP/10{}", i % 4)),
                        ("HoldTime", hold.to_string()),
                        ("RingTime", "3".into()),
                    ]),
                ));
                events.push(message(
                    "AgentComplete",
                    left + talk,
                    &key(vec![
                        ("MemberName", member),
                        ("HoldTime", hold.to_string()),
                        ("TalkTime", talk.to_string()),
                        ("Reason", "caller".into()),
                    ]),
                ));
            }
        }
        per_call.push(events);
    }
    (per_call, want)
}

/// One client action (lines up to a blank one), as `Key: Value` pairs.
fn action(reader: &mut BufReader<TcpStream>) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            return fields;
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
}

fn serve(listener: TcpListener, sessions: Vec<Option<String>>, done: mpsc::Receiver<()>) {
    let last = sessions.len() - 1;
    let mut kept = None;
    for (n, script) in sessions.into_iter().enumerate() {
        let (stream, _) = listener.accept().expect("accept");
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = BufReader::new(stream);
        writer
            .write_all(b"Asterisk Call Manager/9.0.0\r\n")
            .expect("banner");
        let login = action(&mut reader);
        assert_eq!(login.get("Action").map(String::as_str), Some("Login"));
        assert_eq!(login.get("Username").map(String::as_str), Some("callpulse"));
        let Some(events) = script else {
            writer
                .write_all(b"Response: Error\r\nActionID: callpulse-login\r\nMessage: Authentication failed\r\n\r\n")
                .expect("refuse");
            continue;
        };
        assert_eq!(login.get("Secret").map(String::as_str), Some("s3cret"));
        let ok = "Response: Success\r\nActionID: callpulse-login\r\nMessage: Authentication accepted\r\n\r\n\
                  Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n";
        writer
            .write_all(format!("{ok}{events}").as_bytes())
            .expect("events");
        // Every session but the last ends here; the last stays connected, as a manager does.
        if n == last {
            kept = Some((writer, reader));
        }
    }
    let _ = done.recv_timeout(Duration::from_secs(300));
    drop(kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ami_bridge_reconnects_and_counts_every_call_it_was_sent() {
    let start = wall_now().millis() / 1000 - 1800;
    let (per_call, want) = calls(start);
    // Session two ends with calls joined but not ended; their ends come in session three.
    let (mut first, mut second) = (String::new(), String::new());
    for (i, events) in per_call.iter().enumerate() {
        for (j, e) in events.iter().enumerate() {
            if i < 12 || (i < 16 && j == 0) {
                first.push_str(e);
            } else {
                second.push_str(e);
            }
        }
    }
    let mock = mock_cluster(2);
    let brokers = mock.bootstrap_servers();
    let engine = Engine::start(test_config(&brokers, "ami-bridge")).await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let ami = listener.local_addr().expect("addr").to_string();
    let (done_tx, done_rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        serve(listener, vec![None, Some(first), Some(second)], done_rx);
    });
    let dir = std::env::temp_dir().join(format!("callpulse-ami-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = dir.join("bridge.log");
    let mut bridge = Command::new(callpulse_binary())
        .args([
            "source",
            "asterisk-ami",
            "--ami",
            &ami,
            "--brokers",
            &brokers,
        ])
        .args(["--reconnect-max-ms", "400", "--log-format", "json"])
        .env("CALLPULSE__SOURCES__ASTERISK__AMI_SECRET", "s3cret")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("callpulse source asterisk-ami");
    let got = settled_totals(&engine, 24, &log).await;
    assert_eq!(got, want);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains("Authentication failed"), "{said}");
    assert!(said.contains("closed by the server"), "{said}");
    let _ = bridge.kill();
    let _ = bridge.wait();
    let _ = done_tx.send(());
    let _ = server.join();
    engine.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
