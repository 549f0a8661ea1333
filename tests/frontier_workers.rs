//! The frontier example (`examples/frontier/`) end to end: worker processes
//! (the built example binary) sharing a frontier on a real redis-server of
//! the test's own, fetching from local hosts that count their open
//! connections. Checked through Redis directly: every URL has a result with
//! the right body digest, no host sees more connections than the per-host
//! cap, a `kill -9` loses nothing and refetches at most what the dead worker
//! held, an always-failing host ends in the dead-letter stream, and a Redis
//! restart is ridden out. The tests run one at a time.
#![cfg(unix)]

mod frontier_support;

use std::fs;
use std::time::Duration;

use frontier_support::hosts::{Behaviour, Hosts};
use frontier_support::redis_server::RedisServer;
use frontier_support::{
    Frontier, Site, TempDir, Worker, check_results, frontier, outputs, serial, shard_key,
};

/// Longest wait for a run to finish; far above what it takes.
const RUN_LIMIT: Duration = Duration::from_secs(180);

const URLS: usize = 20_000;
const HOSTS: usize = 40;
const SHARDS: &str = "16";
const PER_HOST: usize = 2;

#[test]
fn three_workers_fetch_every_url_once_within_the_per_host_cap() {
    let _serial = serial();
    let dir = TempDir::new();
    let redis = RedisServer::start(false).expect("start redis-server");
    let site = Site::new(HOSTS, URLS / HOSTS);
    let prefix = "three";
    let file = site.write(&dir.0);
    let said = frontier(
        &redis,
        prefix,
        &["enqueue", file.to_str().unwrap(), "--shards", SHARDS],
    );
    assert!(
        said.contains(&format!("enqueued {URLS} URLs into 16 shards")),
        "{said}"
    );

    let per_host = PER_HOST.to_string();
    let options = [
        "--concurrency",
        "96",
        "--per-host",
        &per_host,
        "--lease-ttl",
        "3",
        "--claim-idle",
        "30",
        "--pool-idle-timeout",
        "0.5",
    ];
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::spawn(&redis, prefix, &format!("w{i}"), &dir.0, &options))
        .collect();
    let mut frontier_db = Frontier::open(&redis, prefix, 16);
    frontier_db.wait(
        RUN_LIMIT,
        &workers,
        "every URL to have a result",
        Frontier::finished,
    );

    let results = frontier_db.entries("results");
    let (written_twice, _) = check_results(&results, &site);
    assert_eq!(
        written_twice, 0,
        "URLs with two results in a run where no worker failed"
    );
    assert_eq!(
        site.fetched_twice(),
        (0, 0),
        "URLs requested twice in a run where no worker failed"
    );
    assert!(
        site.max_open() <= PER_HOST,
        "a host saw {} connections at once; the per-host cap is {PER_HOST}\n{}",
        site.max_open(),
        outputs(&workers)
    );
    for worker in &workers {
        assert!(
            results.iter().any(|r| r["worker"] == worker.name),
            "worker {} wrote no result: the shards were not shared\n{}",
            worker.name,
            outputs(&workers)
        );
    }
    assert!(frontier_db.entries("dead").is_empty());

    let status = frontier(&redis, prefix, &["status", "--json", "--interval", "0"]);
    for expected in [
        format!(
            "\"enqueued\":{URLS},\"waiting\":0,\"in_flight\":0,\"results\":{URLS},\"errors\":0"
        ),
        "\"dead\":0,\"finished\":true".to_owned(),
    ] {
        assert!(
            status.contains(&expected),
            "status lacks {expected}: {status}"
        );
    }

    // SIGTERM: each worker finishes, releases its leases and leaves.
    for worker in &workers {
        worker.terminate();
    }
    for worker in &mut workers {
        let status = worker.wait_exit(Duration::from_secs(60));
        assert!(
            status.success(),
            "worker {} exited with {status}\n{}",
            worker.name,
            worker.output()
        );
        assert!(
            worker.output().contains("stopped after"),
            "{}",
            worker.output()
        );
    }
    for worker in &workers {
        assert_eq!(
            frontier_db.leases_held_by(&worker.name),
            0,
            "{} kept a lease",
            worker.name
        );
    }
    let live: usize = redis::cmd("ZCARD")
        .arg(format!("{prefix}:workers"))
        .query(&mut frontier_db.conn)
        .expect("ZCARD");
    assert_eq!(live, 0, "stopped workers still in the live set");
}

#[test]
fn a_worker_killed_mid_run_loses_nothing_and_its_in_flight_bounds_the_refetches() {
    let _serial = serial();
    let dir = TempDir::new();
    let redis = RedisServer::start(false).expect("start redis-server");
    let site = Site::new(HOSTS, URLS / HOSTS);
    let prefix = "kill";
    let file = site.write(&dir.0);
    frontier(
        &redis,
        prefix,
        &["enqueue", file.to_str().unwrap(), "--shards", SHARDS],
    );

    let per_host = PER_HOST.to_string();
    let options = [
        "--concurrency",
        "96",
        "--per-host",
        &per_host,
        "--lease-ttl",
        "2",
        "--claim-idle",
        "1",
        "--pool-idle-timeout",
        "0.5",
    ];
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::spawn(&redis, prefix, &format!("k{i}"), &dir.0, &options))
        .collect();
    let victim_cap = workers[1].in_flight_cap();
    let victim = workers[1].name.clone();
    let mut db = Frontier::open(&redis, prefix, 16);
    db.wait(
        RUN_LIMIT,
        &workers,
        "a quarter of the results with the victim at work",
        |db| {
            db.counter("results") >= (URLS / 4) as u64
                && db.leases_held_by(&victim) > 0
                && db.pending_of(&victim) > 0
        },
    );

    workers[1].child.kill().expect("kill -9 the victim");
    workers[1].child.wait().expect("reap the victim");
    // Now fixed: what the victim had delivered and not acknowledged.
    let orphaned = db.pending_of(&victim);
    assert!(
        orphaned > 0,
        "the victim held nothing when killed: nothing to claim"
    );

    db.wait(
        RUN_LIMIT,
        &workers,
        "the survivors to finish the run",
        Frontier::finished,
    );
    for (_, worker) in workers.iter_mut().enumerate().filter(|(i, _)| *i != 1) {
        assert!(worker.still_running(), "{}", worker.output());
    }
    let results = db.entries("results");
    let (written_twice, extra_results) = check_results(&results, &site);
    let (fetched_twice, extra_fetches) = site.fetched_twice();
    eprintln!(
        "kill -9 mid-run: the victim (in-flight cap {victim_cap}) left {orphaned} entries \
         unacknowledged; {fetched_twice} URLs were fetched twice ({extra_fetches} extra requests), \
         {written_twice} have two results ({extra_results} extra)"
    );
    assert!(
        orphaned <= victim_cap,
        "{orphaned} unacknowledged entries exceed the in-flight cap {victim_cap}"
    );
    assert!(
        extra_fetches <= orphaned,
        "{extra_fetches} extra requests, but the victim left only {orphaned} entries"
    );
    assert!(
        extra_results <= extra_fetches,
        "{extra_results} extra results from {extra_fetches} extra requests"
    );
    let claimed = results.iter().filter(|r| r["deliveries"] != "1").count();
    assert!(
        claimed >= orphaned,
        "only {claimed} results came from a second delivery; {orphaned} entries were orphaned"
    );
    assert!(
        site.max_open() <= PER_HOST,
        "a host saw {} connections at once; the per-host cap is {PER_HOST}",
        site.max_open()
    );
}

#[test]
fn an_always_failing_host_ends_in_the_dead_letter_stream_with_its_error() {
    let _serial = serial();
    let dir = TempDir::new();
    let redis = RedisServer::start(false).expect("start redis-server");
    let site = Site::new(4, 50);
    let failing = Hosts::start(&[Behaviour::HangUp]);
    let doomed: Vec<String> = (0..3)
        .map(|i| format!("http://{}/never/{i}", failing.addr(0)))
        .collect();
    let prefix = "dead";
    let file = site.write(&dir.0);
    let mut lines = fs::read_to_string(&file).expect("the URL file");
    for url in &doomed {
        lines.push_str(url);
        lines.push('\n');
    }
    fs::write(&file, lines).expect("rewrite the URL file");
    frontier(
        &redis,
        prefix,
        &["enqueue", file.to_str().unwrap(), "--shards", "4"],
    );

    let options = [
        "--concurrency",
        "16",
        "--per-host",
        "2",
        "--lease-ttl",
        "2",
        "--claim-idle",
        "0.3",
        "--max-deliveries",
        "3",
    ];
    let workers = vec![
        Worker::spawn(&redis, prefix, "d0", &dir.0, &options),
        Worker::spawn(&redis, prefix, "d1", &dir.0, &options),
    ];
    let mut db = Frontier::open(&redis, prefix, 4);
    db.wait(
        RUN_LIMIT,
        &workers,
        "every URL to have a result or a dead letter",
        Frontier::finished,
    );

    let results = db.entries("results");
    check_results(
        &results
            .iter()
            .filter(|r| !doomed.contains(&r["url"]))
            .cloned()
            .collect::<Vec<_>>(),
        &site,
    );
    assert!(
        results.iter().all(|r| !doomed.contains(&r["url"])),
        "a URL of the failing host got a result"
    );
    let dead = db.entries("dead");
    assert_eq!(dead.len(), doomed.len(), "dead letters: {dead:?}");
    for letter in &dead {
        let url = &letter["url"];
        assert!(doomed.contains(url), "dead letter for {url}");
        assert_eq!(letter["deliveries"], "3", "{letter:?}");
        assert!(!letter["error_kind"].is_empty(), "{letter:?}");
        assert!(
            letter["error"].contains(url.as_str())
                && letter["error"].contains(&failing.addr(0).to_string()),
            "the error does not say where: {letter:?}"
        );
    }
    assert!(
        failing.accepted(0) >= 3 * doomed.len(),
        "the failing host saw {} connections for {} URLs delivered 3 times each",
        failing.accepted(0),
        doomed.len()
    );
    assert_eq!(db.counter("dead"), 3);
    assert_eq!(
        db.counter("retries"),
        6,
        "two failed deliveries before the last, per URL"
    );
    let kept_errors: usize = (0..4)
        .map(|shard| {
            redis::cmd("HLEN")
                .arg(shard_key(prefix, shard, "errors"))
                .query::<usize>(&mut db.conn)
                .expect("HLEN")
        })
        .sum();
    assert_eq!(
        kept_errors, 0,
        "last errors of dead-lettered entries were left behind"
    );
}

#[test]
fn workers_reconnect_with_backoff_across_a_redis_restart_and_finish() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut redis = RedisServer::start(true).expect("start redis-server with AOF");
    let site = Site::new(HOSTS, 150);
    let prefix = "restart";
    let file = site.write(&dir.0);
    frontier(
        &redis,
        prefix,
        &["enqueue", file.to_str().unwrap(), "--shards", SHARDS],
    );

    let options = [
        "--concurrency",
        "96",
        "--per-host",
        "2",
        "--lease-ttl",
        "3",
        "--claim-idle",
        "2",
        "--pool-idle-timeout",
        "0.5",
    ];
    let mut workers: Vec<Worker> = (0..2)
        .map(|i| Worker::spawn(&redis, prefix, &format!("r{i}"), &dir.0, &options))
        .collect();
    let mut db = Frontier::open(&redis, prefix, 16);
    db.wait(RUN_LIMIT, &workers, "a quarter of the results", |db| {
        db.counter("results") >= (site.urls.len() / 4) as u64
    });
    drop(db);
    redis
        .restart(Duration::from_millis(1500))
        .expect("restart redis-server");

    let mut db = Frontier::open(&redis, prefix, 16);
    db.wait(
        RUN_LIMIT,
        &workers,
        "the run to finish after the restart",
        Frontier::finished,
    );
    let (written_twice, extra_results) = check_results(&db.entries("results"), &site);
    let (fetched_twice, extra_fetches) = site.fetched_twice();
    eprintln!(
        "redis restart: {fetched_twice} URLs fetched twice ({extra_fetches} extra requests), \
         {written_twice} with two results ({extra_results} extra)"
    );
    for worker in &mut workers {
        assert!(worker.still_running(), "{}", worker.output());
        let output = worker.output();
        assert!(
            output.contains("redis unreachable") && output.contains("redis reachable again"),
            "worker {} did not go through a reconnect:\n{output}",
            worker.name
        );
    }
}
