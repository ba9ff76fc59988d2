//! The harness itself: each real component starts and answers, and nothing it started
//! survives the test, even one that panics.

use std::path::Path;

use crate::harness::memcached::Memcached;
use crate::harness::moto::Moto;
use crate::harness::postgres::Postgres;
use crate::harness::process::{exchange, http_get, is_listening};
use crate::harness::redis::{RedisCluster, RedisServer};

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn servers_are_stopped_when_the_test_that_started_them_panics() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let redis = RedisServer::start();
        let memcached = Memcached::start();
        tx.send(vec![
            (redis.pid(), redis.port),
            (memcached.pid(), memcached.port),
        ])
        .unwrap();
        panic!("a failing test body");
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    for (pid, port) in rx.recv().unwrap() {
        assert!(!alive(pid), "process {pid} outlived its test");
        assert!(!is_listening(port), "port {port} still open");
    }
}

#[test]
fn postgres_and_moto_start_answer_and_stop() {
    let (pg_pid, pg_port, moto_pid, moto_port) = {
        let pg = Postgres::start();
        let url = pg.fresh_database_url();
        assert!(url.starts_with("postgres://postgres@127.0.0.1:"));
        let moto = Moto::start();
        assert!(
            http_get(moto.port, "/moto-api/")
                .unwrap()
                .starts_with("HTTP/1.1 200")
        );
        (pg.pid(), pg.port, moto.pid(), moto.port)
    };
    for (pid, port) in [(pg_pid, pg_port), (moto_pid, moto_port)] {
        assert!(!alive(pid), "process {pid} outlived its guard");
        assert!(!is_listening(port), "port {port} still open");
    }
}

#[test]
fn a_three_node_redis_cluster_covers_every_slot() {
    let cluster = RedisCluster::start(3);
    for node in &cluster.nodes {
        let info = exchange(node.port, b"CLUSTER INFO\r\n").unwrap();
        assert!(info.contains("cluster_slots_assigned:16384"), "{info}");
        assert!(info.contains("cluster_known_nodes:3"), "{info}");
    }
}
