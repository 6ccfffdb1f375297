//! The store against librdkafka's in-process mock cluster (the Kafka protocol, for real).

use rdkafka::mocking::MockCluster;

use super::*;

fn store(brokers: &str, chunk_bytes: usize) -> CheckpointStore {
    CheckpointStore::open(&StoreConfig {
        brokers: brokers.to_owned(),
        group: "g".to_owned(),
        topic: "callpulse.checkpoints".to_owned(),
        partitions: 3,
        replication: 1,
        chunk_bytes,
        timeout: Duration::from_secs(3),
        librdkafka: Vec::new(),
    })
    .expect("store opens")
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// A checkpoint bigger than a message is chunked and read back whole; the newest complete
/// one wins; a smaller one after a bigger one leaves no stale chunks in its way; another
/// partition's and a fresh store's reads see what was written.
#[test]
fn chunked_checkpoints_round_trip_and_the_newest_wins() {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic("callpulse.checkpoints", 3, 1)
        .expect("topic");
    let brokers = mock.bootstrap_servers();
    let s = store(&brokers, 1024);
    assert_eq!(s.read("calls", 0).expect("read"), None, "nothing yet");

    let big = bytes(10_000, 1);
    assert_eq!(s.write("calls", 0, 500, &big).expect("write"), 1);
    let small = bytes(1_500, 2);
    assert_eq!(s.write("calls", 0, 900, &small).expect("write"), 2);
    let other = bytes(3_000, 3);
    s.write("calls", 1, 42, &other).expect("write");

    let got = s.read("calls", 0).expect("read").expect("a checkpoint");
    assert_eq!((got.next_offset, got.generation), (900, 2));
    assert_eq!(got.bytes, small);
    let got = s.read("calls", 1).expect("read").expect("a checkpoint");
    assert_eq!((got.next_offset, got.bytes.len()), (42, other.len()));

    // Another process (a fresh store) reads the same, and continues the generations.
    let fresh = store(&brokers, 1024);
    let got = fresh.read("calls", 0).expect("read").expect("a checkpoint");
    assert_eq!(got.bytes, small);
    let third = bytes(20_000, 4);
    assert_eq!(fresh.write("calls", 0, 1200, &third).expect("write"), 3);
    let got = s.read("calls", 0).expect("read").expect("a checkpoint");
    assert_eq!((got.next_offset, got.generation), (1200, 3));
    assert_eq!(got.bytes, third);
}

/// A write cut short (chunks of a new generation without their manifest, or a manifest
/// whose chunks do not match) leaves the previous checkpoint readable.
#[test]
fn a_write_cut_short_falls_back_to_the_previous_checkpoint() {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic("callpulse.checkpoints", 3, 1)
        .expect("topic");
    let brokers = mock.bootstrap_servers();
    let s = store(&brokers, 1024);
    let good = bytes(5_000, 7);
    s.write("agents", 2, 77, &good).expect("write");
    // Generation 2 goes to slot 0: one chunk only, then a manifest claiming five.
    let base = base_key("g", "agents", 2);
    let home = s.home_partition(&base);
    let mut chunk = CHUNK_MAGIC.to_vec();
    chunk.extend_from_slice(&2u64.to_le_bytes());
    chunk.extend_from_slice(&bytes(1024, 9));
    s.send(&chunk_key(&base, 0, 0), Some(&chunk), home)
        .expect("send");
    let lying = Manifest {
        generation: 2,
        next_offset: 99,
        chunks: 5,
        len: 5_000,
        checksum: 1,
    };
    s.send(&manifest_key(&base, 0), Some(&lying.encode()), home)
        .expect("send");
    s.producer.flush(Duration::from_secs(5)).expect("flush");
    let got = store(&brokers, 1024)
        .read("agents", 2)
        .expect("read")
        .expect("the previous checkpoint");
    assert_eq!((got.next_offset, got.generation), (77, 1));
    assert_eq!(got.bytes, good);
}

/// An assignment of many partitions reads them all in one pass per checkpoint partition,
/// each its own newest checkpoint; a partition never checkpointed reads as none.
#[test]
fn a_whole_assignment_is_read_at_once() {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic("callpulse.checkpoints", 3, 1)
        .expect("topic");
    let brokers = mock.bootstrap_servers();
    let s = store(&brokers, 1024);
    for partition in 0..8 {
        s.write("calls", partition, 10, &bytes(3_000, partition as u8))
            .expect("write");
        s.write(
            "calls",
            partition,
            20 + i64::from(partition),
            &bytes(2_000, 100 + partition as u8),
        )
        .expect("write");
    }
    let wanted: Vec<(String, i32)> = (0..9).map(|p| ("calls".to_owned(), p)).collect();
    let found = store(&brokers, 1024).read_all(&wanted).expect("read");
    assert_eq!(found.len(), 9);
    for partition in 0..8 {
        let got = found[&("calls".to_owned(), partition)]
            .as_ref()
            .expect("a checkpoint");
        assert_eq!(got.next_offset, 20 + i64::from(partition));
        assert_eq!(got.bytes, bytes(2_000, 100 + partition as u8));
    }
    assert_eq!(found[&("calls".to_owned(), 8)], None);
}
