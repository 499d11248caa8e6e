//! `planner bench`: the engine's speed against a bare binary-heap event loop, measured in one
//! process so that the ratio holds on a noisy machine.
//!
//! The baseline is the classic hold model: keep as many events pending as the real run did on
//! average; each step pops the earliest and pushes one at a later time. It does no model work,
//! so `engine / baseline` is the share of raw queue speed the engine keeps while carrying the
//! whole Terway model. The same hold loop on the engine's own queue (a radix heap) is printed
//! too, to show what the queue alone costs. Each timing is the best of a few interleaved
//! repeats: a neighbour's burst on a shared machine slows one repeat, not the figure.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::engine::queue::EventQueue;
use crate::model::RunResult;
use crate::scenario::Scenario;
use crate::sweep;

/// Figures of a benchmark.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Events of the single run.
    pub events: u64,
    /// Mean events pending in that run.
    pub pending_mean: f64,
    /// Wall seconds of the single run on one thread (best of the repeats).
    pub run_s: f64,
    /// Baseline: seconds for as many hold operations with as many pending events.
    pub baseline_s: f64,
    /// The same hold loop on the engine's queue.
    pub engine_queue_s: f64,
    /// Repeats each of those three timings is the best of.
    pub repeats: u32,
    /// Runs timed for the speed-up.
    pub runs: u32,
    /// Wall seconds of `runs` runs on one thread.
    pub serial_s: f64,
    /// Wall seconds of `runs` runs on all threads.
    pub parallel_s: f64,
    /// Threads of the parallel pass.
    pub threads: usize,
    /// Peak resident memory during the single run, in bytes (Linux).
    pub peak_memory_one_run: Option<u64>,
}

impl BenchReport {
    /// Events per second of the engine.
    pub fn engine_rate(&self) -> f64 {
        self.events as f64 / self.run_s
    }

    /// Events per second of the baseline loop.
    pub fn baseline_rate(&self) -> f64 {
        self.events as f64 / self.baseline_s
    }

    /// Events per second of the hold loop on the engine's queue.
    pub fn engine_queue_rate(&self) -> f64 {
        self.events as f64 / self.engine_queue_s
    }
}

/// Peak resident set size of this process (`VmHWM`), where the system tells.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Starts a new peak-memory window (Linux: writing 5 to `clear_refs` resets `VmHWM` to the
/// current size). Returns whether the system allowed it.
fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Exponential increments with a mean of one second, from a SplitMix64 stream: the hold loops'
/// event spacing.
fn exponential_ms() -> impl FnMut() -> u64 {
    let mut state: u64 = 42;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = (z >> 11) as f64 / (1u64 << 53) as f64;
        (-(1.0 - u).ln() * 1000.0) as u64
    }
}

/// The hold loop: `pending` events in a `BinaryHeap` keyed by (time, sequence), `operations`
/// pop-and-push steps with exponential increments (mean 1 s). Returns the elapsed seconds and
/// a checksum that keeps the loop from being optimised away.
pub fn hold_loop(pending: usize, operations: u64) -> (f64, u64) {
    let mut exp_ms = exponential_ms();
    let mut heap = BinaryHeap::with_capacity(pending + 1);
    let mut seq = 0u64;
    for _ in 0..pending.max(1) {
        heap.push(Reverse((exp_ms(), seq, 0u64)));
        seq += 1;
    }
    let start = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..operations {
        let Reverse((at, _, payload)) = heap.pop().expect("never empty");
        checksum = checksum.wrapping_add(at ^ payload);
        heap.push(Reverse((at + exp_ms(), seq, seq)));
        seq += 1;
    }
    (start.elapsed().as_secs_f64(), checksum)
}

/// The same hold loop on the engine's queue, with a payload of an event's size.
pub fn hold_loop_engine_queue(pending: usize, operations: u64) -> (f64, u64) {
    let mut exp_ms = exponential_ms();
    let mut queue = EventQueue::new();
    let mut seq = 0u64;
    for _ in 0..pending.max(1) {
        queue.schedule(exp_ms(), (0u64, 0u64));
        seq += 1;
    }
    let start = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..operations {
        let (at, (payload, _)) = queue.pop().expect("never empty");
        checksum = checksum.wrapping_add(at ^ payload);
        queue.schedule(at + exp_ms(), (seq, 0));
        seq += 1;
    }
    (start.elapsed().as_secs_f64(), checksum)
}

/// Runs the benchmark: one run on one thread and the two hold loops, `repeats` times
/// interleaved (best of each kept), then `runs` runs on one thread and on all threads of the
/// current rayon pool.
pub fn bench(scenario: &Scenario, runs: u32, repeats: u32) -> BenchReport {
    let single_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one thread");
    let repeats = repeats.max(1);
    let (mut run_s, mut baseline_s, mut engine_queue_s) = (f64::MAX, f64::MAX, f64::MAX);
    let mut peak_memory_one_run = None;
    let mut one: Option<RunResult> = None;
    for repeat in 0..repeats {
        let window = repeat == 0 && reset_peak_memory();
        let start = Instant::now();
        let result = crate::model::run_once(scenario, 0);
        run_s = run_s.min(start.elapsed().as_secs_f64());
        if repeat == 0 {
            peak_memory_one_run = peak_memory_bytes().filter(|_| window);
        }
        let pending = result.pending_events_mean.round() as usize;
        baseline_s = baseline_s.min(hold_loop(pending, result.events).0);
        engine_queue_s = engine_queue_s.min(hold_loop_engine_queue(pending, result.events).0);
        one = Some(result);
    }
    let one = one.expect("at least one repeat");
    let (mut serial_s, mut parallel_s) = (0.0, 0.0);
    if runs > 0 {
        let mut many = scenario.clone();
        many.runs = runs;
        let start = Instant::now();
        single_pool.install(|| sweep::run_all(&many, &|_| {}));
        serial_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        sweep::run_all(&many, &|_| {});
        parallel_s = start.elapsed().as_secs_f64();
    }
    BenchReport {
        events: one.events,
        pending_mean: one.pending_events_mean,
        run_s,
        baseline_s,
        engine_queue_s,
        repeats,
        runs,
        serial_s,
        parallel_s,
        threads: rayon::current_num_threads(),
        peak_memory_one_run,
    }
}

/// The figures as printed by `planner bench`.
pub fn format_report(name: &str, report: &BenchReport) -> String {
    let mib = |b: Option<u64>| {
        b.map_or("unknown (needs Linux /proc)".to_string(), |b| {
            format!("{:.0} MiB", b as f64 / 1048576.0)
        })
    };
    let speed_up = if report.runs == 0 {
        "speed-up pass skipped (--runs 0)\n".to_string()
    } else {
        format!(
            "{} runs on 1 thread:         {:.2} s\n\
             {} runs on {} threads:        {:.2} s (speed-up {:.2}x)\n",
            report.runs,
            report.serial_s,
            report.runs,
            report.threads,
            report.parallel_s,
            report.serial_s / report.parallel_s,
        )
    };
    format!(
        "benchmark {name}\n\
         events (one run):            {}\n\
         events pending (mean):       {:.0}\n\
         engine, 1 run, 1 thread:     {:.2} s, {:.2} M events/s\n\
         bare BinaryHeap hold loop:   {:.2} s, {:.2} M events/s (same events, same pending)\n\
         engine / baseline:           {:.0}%\n\
         engine's queue, hold loop:   {:.2} s, {:.2} M events/s (radix heap, for reference)\n\
         (best of {} repeats each)\n\
         {speed_up}\
         peak memory, one run:        {}\n",
        report.events,
        report.pending_mean,
        report.run_s,
        report.engine_rate() / 1e6,
        report.baseline_s,
        report.baseline_rate() / 1e6,
        100.0 * report.engine_rate() / report.baseline_rate(),
        report.engine_queue_s,
        report.engine_queue_rate() / 1e6,
        report.repeats,
        mib(report.peak_memory_one_run),
    )
}

/// The scenario with `factor` times the pods: replica targets, job arrivals and node counts
/// multiplied, and each vSwitch's addresses too, so that the scaled cluster runs the same
/// regime rather than into a deeper shortage. A vSwitch is widened by log2(factor) bits where
/// the /16 limit allows; what is still missing comes from copies of it (`<id>-x2`, ...), listed
/// right after it wherever Terway's configuration lists it. (Blocks may then overlap; the model
/// only counts addresses.)
pub fn scaled(scenario: &Scenario, factor: u32) -> Scenario {
    use crate::scenario::{MIN_VSWITCH_PREFIX, WorkloadKind};
    let mut s = scenario.clone();
    let factor = factor.max(1);
    let k = f64::from(factor);
    for workload in &mut s.workloads {
        let curve = match &mut workload.kind {
            WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => &mut r.replicas,
            WorkloadKind::Job(job) => &mut job.arrivals_per_hour,
        };
        for point in &mut curve.points {
            point.1 *= k;
        }
    }
    for pool in &mut s.nodepools {
        pool.nodes *= factor;
        pool.min_nodes *= factor;
        pool.max_nodes *= factor;
    }
    let bits = factor.ilog2() as u8;
    let originals = s.vswitches.len();
    let mut copies_of: Vec<Vec<usize>> = vec![Vec::new(); originals];
    for (index, copies_here) in copies_of.iter_mut().enumerate() {
        let vswitch = &mut s.vswitches[index];
        let prefix = vswitch
            .cidr
            .prefix_len()
            .saturating_sub(bits)
            .max(MIN_VSWITCH_PREFIX);
        let widened_by = vswitch.cidr.prefix_len() - prefix;
        vswitch.cidr = ipnet::Ipv4Net::new(vswitch.cidr.network(), prefix)
            .expect("valid prefix")
            .trunc();
        let copies = (factor >> widened_by).max(1) - 1;
        let template = vswitch.clone();
        for copy in 0..copies {
            let mut extra = template.clone();
            extra.id = format!("{}-x{}", template.id, copy + 2);
            copies_here.push(s.vswitches.len());
            s.vswitches.push(extra);
        }
    }
    for config in &mut s.terway_configs {
        for list in config.vswitches.values_mut() {
            *list = list
                .iter()
                .flat_map(|&v| std::iter::once(v).chain(copies_of[v].iter().copied()))
                .collect();
        }
    }
    // A node pool's eth0 vSwitch is one per zone, so copies of it go unused: node vSwitches
    // rely on widening alone (a /20 has room for a 16x cluster).
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_loop_is_repeatable() {
        let (_, a) = hold_loop(100, 10_000);
        let (_, b) = hold_loop(100, 10_000);
        assert_eq!(a, b);
        let (_, c) = hold_loop(100, 10_001);
        assert_ne!(a, c);
    }

    // 4x the pods, 4x the pod addresses of every zone: a /17 widens to a /16 and gains one
    // copy, a /16 gains three, each listed right after its original.
    #[test]
    fn scaling_keeps_addresses_in_step_with_pods() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join("bench-large.toml");
        let (base, _) = crate::scenario::load(&path).expect("bench-large parses");
        let four = scaled(&base, 4);
        let zone_ips = |s: &Scenario, zone: &str| -> u32 {
            s.terway_configs[0].vswitches[zone]
                .iter()
                .map(|&v| s.vswitches[v].usable_ips())
                .sum()
        };
        for zone in ["cn-beijing-a", "cn-beijing-b", "cn-beijing-c"] {
            let (before, after) = (zone_ips(&base, zone), zone_ips(&four, zone));
            assert!(
                (3.9..4.1).contains(&(f64::from(after) / f64::from(before))),
                "{zone}: {before} -> {after}"
            );
        }
        let listed: Vec<&str> = four.terway_configs[0].vswitches["cn-beijing-a"]
            .iter()
            .map(|&v| four.vswitches[v].id.as_str())
            .collect();
        assert_eq!(
            listed,
            [
                "vsw-a-pods",
                "vsw-a-pods-x2",
                "vsw-a-pods-x3",
                "vsw-a-pods-x4"
            ]
        );
        assert_eq!(four.nodepools[0].max_nodes, 4 * base.nodepools[0].max_nodes);
    }

    // Both queues pop the same times in the same order, so the two loops do the same work.
    #[test]
    fn the_engine_queue_loop_does_what_the_heap_loop_does() {
        assert_eq!(
            hold_loop(300, 50_000).1,
            hold_loop_engine_queue(300, 50_000).1
        );
    }
}
