//! [`Pacer`]: the dispatcher's gates on request starts, per origin and over
//! all origins. Sans-IO: the reactor asks whether a request may start `now`,
//! tells when one did, and sleeps until [`Pacer::next_wake`].
//!
//! ```text
//!  per origin:  token bucket (rate, burst)  ┐
//!               min delay since last start  ├─ all must allow ─┐
//!               paused until (Retry-After)  ┘                  ├─▶ start now, or wait in the
//!  all origins: token bucket (rate, burst)  ───────────────────┘   origin's queue until a wake
//! ```
//!
//! The token buckets are kept as a GCRA ("virtual scheduling", ITU-T
//! I.371): a theoretical arrival time `tat` that each start moves on by the
//! interval `1 / rate`; a start is allowed once `now >= tat - (burst - 1) ·
//! interval`. So at most `burst + rate · t` requests start in any window of
//! `t` seconds, and a bucket is one `Instant`.
//!
//! A request held by its origin's gate waits in that origin's queue, so it
//! holds up no other origin; the gate registers a wake-up at the time it
//! opens, and the reactor's poll timeout includes the earliest wake-up, so
//! nothing busy-waits. A gate that has opened and has no pause is the same
//! as no gate, and is swept away, so a crawl over a million origins keeps
//! only the gates of origins recently used.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::Pacing;
use crate::origin::{Origin, OriginMap};

/// How long the reactor's timers can be off (mio polls in milliseconds):
/// a bucket holds at least this much of its rate, so a high rate is not
/// lost to the poll's granularity.
const TIMER_GRANULARITY: Duration = Duration::from_millis(10);

/// Which gate holds a request back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Its origin's: the origin's other requests wait too, no one else.
    Origin,
    /// The global rate's: every request waits.
    All,
}

/// What a wake-up opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Woken {
    /// This origin's gate.
    Origin(Origin),
    /// The global gate.
    All,
}

/// A token bucket as a GCRA: the interval between starts and how far
/// ahead of it a start may come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    interval: Duration,
    /// `(burst - 1) · interval`.
    tolerance: Duration,
}

impl Bucket {
    /// A bucket for one start per `interval`, `burst` at once; without a
    /// burst, 1 or the timer granularity's worth of the rate.
    fn new(interval: Duration, burst: Option<u32>) -> Bucket {
        let burst = burst.unwrap_or_else(|| {
            let per_tick = TIMER_GRANULARITY.as_nanos() / interval.as_nanos().max(1);
            u32::try_from(per_tick).unwrap_or(u32::MAX).max(1)
        });
        Bucket {
            interval,
            tolerance: interval.saturating_mul(burst.max(1) - 1),
        }
    }

    /// When the bucket allows the next start, given its `tat`.
    fn opens_at(self, tat: Option<Instant>) -> Option<Instant> {
        // Before the clock's origin means: open.
        tat.and_then(|tat| tat.checked_sub(self.tolerance))
    }

    /// The `tat` after a start at `now`.
    fn after_start(self, tat: Option<Instant>, now: Instant) -> Instant {
        let from = tat.map_or(now, |tat| tat.max(now));
        later(from, self.interval)
    }
}

/// `at + by`, or the far future if that overflows.
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(at)
}

/// One origin's gate.
#[derive(Debug, Clone, Default)]
struct Gate {
    /// The token bucket's theoretical arrival time.
    tat: Option<Instant>,
    last_start: Option<Instant>,
    /// Set by a 429/503 with `Retry-After`.
    paused_until: Option<Instant>,
    /// The wake-up registered for this gate, if any.
    wake: Option<Instant>,
}

/// Every gate, and the wake-ups they wait for.
#[derive(Debug)]
pub(crate) struct Pacer {
    per_host: Option<Bucket>,
    min_delay: Option<Duration>,
    global: Option<Bucket>,
    global_tat: Option<Instant>,
    global_wake: Option<Instant>,
    gates: OriginMap<Gate>,
    /// Wake-ups in time order: an origin's gate, or (`None`) the global one.
    wakes: BTreeMap<(Instant, u64), Option<Origin>>,
    next_seq: u64,
    /// Gates kept after the last sweep.
    swept_len: usize,
}

impl Pacer {
    pub(crate) fn new(pacing: &Pacing) -> Pacer {
        Pacer {
            per_host: pacing
                .per_host_interval
                .map(|i| Bucket::new(i, pacing.per_host_burst)),
            min_delay: pacing.min_delay,
            global: pacing.global_interval.map(|i| Bucket::new(i, None)),
            global_tat: None,
            global_wake: None,
            gates: OriginMap::default(),
            wakes: BTreeMap::new(),
            next_seq: 0,
            swept_len: 0,
        }
    }

    /// False when no gate can hold anything: then the dispatcher need not
    /// ask (the common case costs nothing).
    pub(crate) fn is_active(&self) -> bool {
        self.per_host.is_some()
            || self.min_delay.is_some()
            || self.global.is_some()
            || !self.gates.is_empty()
    }

    /// Whether a request to `origin` may start at `now`: `None` if so, else
    /// the gate that holds it, which wakes the dispatcher when it opens.
    pub(crate) fn check(&mut self, origin: &Origin, now: Instant) -> Option<Held> {
        if let Some(gate) = self.gates.get(origin) {
            let opens = self.gate_opens_at(gate).filter(|&at| at > now);
            if let Some(at) = opens {
                let wake = gate.wake;
                if wake.is_none_or(|w| w > at) {
                    if let Some(gate) = self.gates.get_mut(origin) {
                        gate.wake = Some(at);
                    }
                    self.push_wake(at, Some(origin.clone()));
                }
                return Some(Held::Origin);
            }
        }
        if let Some(bucket) = self.global {
            if let Some(at) = bucket.opens_at(self.global_tat).filter(|&at| at > now) {
                if self.global_wake.is_none_or(|w| w > at) {
                    self.global_wake = Some(at);
                    self.push_wake(at, None);
                }
                return Some(Held::All);
            }
        }
        None
    }

    /// A request to `origin` started at `now`: it takes its tokens.
    pub(crate) fn started(&mut self, origin: &Origin, now: Instant) {
        if !self.is_active() {
            return;
        }
        if let Some(bucket) = self.global {
            self.global_tat = Some(bucket.after_start(self.global_tat, now));
        }
        let per_host = self.per_host.is_some() || self.min_delay.is_some();
        let gate = match self.gates.get_mut(origin) {
            Some(gate) => gate,
            None if per_host => {
                self.sweep(now);
                self.gates.entry(origin.clone()).or_default()
            }
            None => return,
        };
        if let Some(bucket) = self.per_host {
            gate.tat = Some(bucket.after_start(gate.tat, now));
        }
        gate.last_start = Some(now);
    }

    /// The origin asked for a pause (a 429 or 503 with `Retry-After`): no
    /// request to it starts before `until`.
    pub(crate) fn pause(&mut self, origin: &Origin, until: Instant, now: Instant) {
        if !self.gates.contains_key(origin) {
            self.sweep(now);
        }
        let gate = self.gates.entry(origin.clone()).or_default();
        gate.paused_until = Some(gate.paused_until.map_or(until, |p| p.max(until)));
    }

    /// When the earliest gate that holds a request opens.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.wakes.keys().next().map(|(at, _)| *at)
    }

    /// The next gate due to open at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Woken> {
        loop {
            let entry = self.wakes.first_entry()?;
            let at = entry.key().0;
            if at > now {
                return None;
            }
            match entry.remove() {
                Some(origin) => {
                    let gate = self.gates.get_mut(&origin);
                    if let Some(gate) = gate.filter(|g| g.wake == Some(at)) {
                        gate.wake = None;
                        return Some(Woken::Origin(origin));
                    }
                }
                None if self.global_wake == Some(at) => {
                    self.global_wake = None;
                    return Some(Woken::All);
                }
                // Superseded by an earlier wake-up for the same gate.
                None => {}
            }
        }
    }

    /// When a gate lets the next request through (it may be in the past).
    fn gate_opens_at(&self, gate: &Gate) -> Option<Instant> {
        let bucket = self.per_host.and_then(|b| b.opens_at(gate.tat));
        let delay = self
            .min_delay
            .zip(gate.last_start)
            .map(|(delay, last)| later(last, delay));
        [bucket, delay, gate.paused_until]
            .into_iter()
            .flatten()
            .max()
    }

    fn push_wake(&mut self, at: Instant, gate: Option<Origin>) {
        self.wakes.insert((at, self.next_seq), gate);
        self.next_seq += 1;
    }

    /// Drops the gates that have opened and wait for nothing (they are the
    /// same as no gate), once the map has doubled since the last sweep.
    fn sweep(&mut self, now: Instant) {
        if self.gates.len() < 2 * self.swept_len + 1024 {
            return;
        }
        let per_host = self.per_host;
        let min_delay = self.min_delay;
        // A bucket whose `tat` has passed is full, as a new one would be.
        self.gates.retain(|_, gate| {
            (per_host.is_some() && gate.tat.is_some_and(|tat| tat > now))
                || min_delay
                    .zip(gate.last_start)
                    .is_some_and(|(d, last)| later(last, d) > now)
                || gate.paused_until.is_some_and(|p| p > now)
                || gate.wake.is_some()
        });
        self.swept_len = self.gates.len();
    }

    /// Gates kept (tests).
    #[cfg(test)]
    pub(crate) fn gates(&self) -> usize {
        self.gates.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    const MS: Duration = Duration::from_millis(1);

    fn origin(host: &str) -> Origin {
        Origin::of(&Url::parse(&format!("http://{host}/")).unwrap())
    }

    fn pacer(rate: Option<f64>, burst: Option<u32>, delay: Option<Duration>) -> Pacer {
        Pacer::new(&Pacing {
            per_host_interval: rate.map(|r| Duration::from_secs_f64(1.0 / r)),
            per_host_burst: burst,
            min_delay: delay,
            global_interval: None,
        })
    }

    /// Starts requests to `o` as fast as the gate allows, following its
    /// wake-ups, until `until`; returns the start times.
    fn run(p: &mut Pacer, o: &Origin, t0: Instant, until: Duration) -> Vec<Duration> {
        let mut now = t0;
        let mut starts = Vec::new();
        for _ in 0..10_000 {
            match p.check(o, now) {
                None => {
                    p.started(o, now);
                    starts.push(now - t0);
                }
                Some(Held::Origin) => {
                    let wake = p.next_wake().expect("a held gate wakes");
                    assert!(wake > now, "no busy-waiting");
                    now = wake;
                    assert_eq!(p.pop_due(now), Some(Woken::Origin(o.clone())));
                }
                Some(Held::All) => panic!("no global limit here"),
            }
            if now - t0 > until {
                break;
            }
        }
        starts
    }

    #[test]
    fn the_bucket_spaces_starts_after_its_burst() {
        let mut p = pacer(Some(10.0), Some(3), None);
        let o = origin("a.test");
        let starts = run(&mut p, &o, Instant::now(), Duration::from_secs(1));
        assert_eq!(
            &starts[..4],
            &[Duration::ZERO, Duration::ZERO, Duration::ZERO, 100 * MS]
        );
        // Never more than burst + rate · t in any window.
        for (i, a) in starts.iter().enumerate() {
            for (j, b) in starts.iter().enumerate().skip(i) {
                let window = (*b - *a).as_secs_f64();
                assert!(
                    (j - i + 1) as f64 <= 3.0 + 10.0 * window + 1e-9,
                    "{starts:?}"
                );
            }
        }
        assert_eq!(starts.len(), 3 + 10, "{starts:?}");
    }

    #[test]
    fn the_default_burst_is_one_unless_the_rate_outruns_the_timers() {
        assert_eq!(Bucket::new(100 * MS, None).tolerance, Duration::ZERO);
        assert_eq!(Bucket::new(10 * MS, None).tolerance, Duration::ZERO);
        // 1000 a second: 10 ms worth, 10 at once.
        assert_eq!(Bucket::new(MS, None).tolerance, 9 * MS);
        assert_eq!(Bucket::new(Duration::ZERO, None).interval, Duration::ZERO);
    }

    #[test]
    fn min_delay_and_pauses_combine_with_the_rate() {
        let mut p = pacer(Some(100.0), None, Some(250 * MS));
        let o = origin("a.test");
        let t0 = Instant::now();
        let starts = run(&mut p, &o, t0, Duration::from_secs(1));
        assert_eq!(starts, [0, 250, 500, 750, 1000].map(|ms| ms * MS));
        let now = t0 + 1100 * MS;
        p.pause(&o, now + Duration::from_secs(5), now);
        assert_eq!(p.check(&o, now), Some(Held::Origin));
        assert_eq!(p.next_wake(), Some(now + Duration::from_secs(5)));
        // An earlier pause does not shorten a later one.
        p.pause(&o, now + MS, now);
        assert_eq!(
            p.check(&o, now + Duration::from_secs(4)),
            Some(Held::Origin)
        );
        assert_eq!(p.check(&o, now + Duration::from_secs(5)), None);
    }

    #[test]
    fn a_held_origin_holds_no_other() {
        let mut p = pacer(Some(1.0), None, None);
        let (a, b) = (origin("a.test"), origin("b.test"));
        let t0 = Instant::now();
        p.started(&a, t0);
        assert_eq!(p.check(&a, t0), Some(Held::Origin));
        assert_eq!(p.check(&b, t0), None);
        p.started(&b, t0);
        assert_eq!(p.check(&b, t0 + 500 * MS), Some(Held::Origin));
        // Both wake at the same time, each once.
        let woken: Vec<Woken> =
            std::iter::from_fn(|| p.pop_due(t0 + Duration::from_secs(1))).collect();
        assert_eq!(woken, [Woken::Origin(a), Woken::Origin(b)]);
        assert_eq!(p.next_wake(), None);
    }

    #[test]
    fn the_global_bucket_holds_everyone() {
        let mut p = Pacer::new(&Pacing {
            global_interval: Some(500 * MS),
            ..Pacing::default()
        });
        let (a, b) = (origin("a.test"), origin("b.test"));
        let t0 = Instant::now();
        assert!(p.is_active());
        assert_eq!(p.check(&a, t0), None);
        p.started(&a, t0);
        assert_eq!(p.check(&b, t0), Some(Held::All));
        assert_eq!(p.check(&a, t0 + MS), Some(Held::All));
        assert_eq!(p.next_wake(), Some(t0 + 500 * MS));
        assert_eq!(p.pop_due(t0 + 499 * MS), None);
        assert_eq!(p.pop_due(t0 + 500 * MS), Some(Woken::All));
        assert_eq!(p.check(&b, t0 + 500 * MS), None);
        assert_eq!(p.gates(), 0, "no per-origin limit: no gates");
    }

    #[test]
    fn an_inactive_pacer_is_free_until_a_pause() {
        let mut p = Pacer::new(&Pacing::default());
        let o = origin("a.test");
        let t0 = Instant::now();
        assert!(!p.is_active());
        p.started(&o, t0);
        assert_eq!(p.gates(), 0);
        p.pause(&o, t0 + Duration::from_secs(2), t0);
        assert!(p.is_active());
        assert_eq!(p.check(&o, t0 + Duration::from_secs(1)), Some(Held::Origin));
        assert_eq!(p.check(&o, t0 + Duration::from_secs(2)), None);
    }

    #[test]
    fn opened_gates_are_swept() {
        let mut p = pacer(Some(10.0), None, None);
        let t0 = Instant::now();
        for i in 0..5000 {
            p.started(&origin(&format!("h{i}.test")), t0);
        }
        let later = t0 + Duration::from_secs(1);
        for i in 0..3000 {
            p.started(&origin(&format!("n{i}.test")), later);
        }
        assert!(p.gates() < 4000, "the old ones went: {}", p.gates());
        // Gates still closed survive a sweep.
        assert_eq!(p.check(&origin("n0.test"), later), Some(Held::Origin));
    }
}
