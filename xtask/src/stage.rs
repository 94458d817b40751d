//! Named stages with ceilings: every command a stage runs is killed (with everything it
//! started) when the stage runs past its ceiling, and the whole run stops naming the stage.
//! Each stage's time is printed as it ends and again in a summary.

use std::cell::RefCell;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

struct Current {
    name: &'static str,
    ceiling: Duration,
    deadline: Instant,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
    static DONE: RefCell<Vec<(&'static str, Duration, bool)>> = const { RefCell::new(Vec::new()) };
}

/// Formats a duration as `1m23s`.
pub fn mmss(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

/// Runs `f` as the stage `name`: commands started through [`wait`] inside it are killed once
/// `ceiling` has passed since the stage began. Prints the stage's time when it ends.
pub fn stage<T>(name: &'static str, ceiling: Duration, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    eprintln!("xtask: ── stage {name} (ceiling {}) ──", mmss(ceiling));
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Current {
            name,
            ceiling,
            deadline: started + ceiling,
        });
    });
    let result = f();
    CURRENT.with(|c| c.borrow_mut().take());
    let took = started.elapsed();
    DONE.with(|d| d.borrow_mut().push((name, took, result.is_ok())));
    eprintln!(
        "xtask: stage {name} {} in {}",
        if result.is_ok() { "passed" } else { "FAILED" },
        mmss(took)
    );
    result
}

/// Prints every stage run so far with its time, and the total.
pub fn summary() {
    DONE.with(|d| {
        let done = d.borrow();
        let total: Duration = done.iter().map(|(_, t, _)| *t).sum();
        eprintln!("xtask: stage times");
        for (name, took, ok) in done.iter() {
            eprintln!(
                "xtask:   {name:<12} {:>7} {}",
                mmss(*took),
                if *ok { "ok" } else { "FAILED" }
            );
        }
        eprintln!("xtask:   {:<12} {:>7}", "total", mmss(total));
    });
}

/// Waits for `child`, started by `cmd`; inside a stage, kills it and its descendants (SIGTERM,
/// then SIGKILL after 10 s) when the stage's ceiling passes, and fails naming the stage.
pub fn wait(cmd: &Command, mut child: Child) -> Result<std::process::ExitStatus> {
    let limit = CURRENT.with(|c| c.borrow().as_ref().map(|c| (c.name, c.ceiling, c.deadline)));
    let Some((name, ceiling, deadline)) = limit else {
        return Ok(child.wait()?);
    };
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            eprintln!(
                "xtask: stage {name} ran past its ceiling of {}: stopping {cmd:?}",
                mmss(ceiling)
            );
            kill_tree(child.id(), "TERM");
            let grace = Instant::now() + Duration::from_secs(10);
            while Instant::now() < grace && child.try_wait()?.is_none() {
                std::thread::sleep(Duration::from_millis(200));
            }
            kill_tree(child.id(), "KILL");
            let _ = child.wait();
            bail!("stage {name} ran past its ceiling of {} and was stopped", mmss(ceiling));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends `signal` to `pid` and every process below it (found through /proc), children first
/// listed so none is reparented out of reach before it is signalled.
fn kill_tree(pid: u32, signal: &str) {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(children(all[i]));
        i += 1;
    }
    let pids: Vec<String> = all.iter().map(u32::to_string).collect();
    let _ = Command::new("kill").arg(format!("-{signal}")).args(&pids).status();
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid …; comm may contain spaces and parentheses.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}
