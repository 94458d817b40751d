//! Named stages with ceilings: every command a stage runs is killed (with everything it
//! started) when the stage runs past its ceiling, and the whole run stops naming the stage.
//! Each stage's time is printed as it ends and again in a summary.

use std::cell::RefCell;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

#[derive(Clone, Copy)]
struct Current {
    name: &'static str,
    ceiling: Duration,
    deadline: Instant,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
    /// Where commands of a background task write their output (instead of the terminal).
    static LOG: RefCell<Option<std::fs::File>> = const { RefCell::new(None) };
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

/// Points a command's output at this thread's log, when it is a background task's.
pub fn redirect(cmd: &mut Command) {
    LOG.with(|log| {
        if let Some(file) = log.borrow().as_ref()
            && let (Ok(out), Ok(err)) = (file.try_clone(), file.try_clone())
        {
            cmd.stdout(out).stderr(err);
        }
    });
}

/// A task running beside the stages (installs that need no CPU of their own or fill the idle
/// core of a serial compile), its output in a log file.
pub struct Background {
    name: &'static str,
    log: std::path::PathBuf,
    handle: std::thread::JoinHandle<Result<()>>,
}

impl Background {
    /// Starts `f` on its own thread; its commands write to `log`. Started inside a stage, its
    /// commands are bound by that stage's ceiling too.
    pub fn start(
        name: &'static str,
        log: std::path::PathBuf,
        f: impl FnOnce() -> Result<()> + Send + 'static,
    ) -> Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(&log)?;
        eprintln!("xtask: {name} runs in the background (output: {})", log.display());
        let current = CURRENT.with(|c| *c.borrow());
        let handle = std::thread::spawn(move || {
            LOG.with(|l| *l.borrow_mut() = Some(file));
            CURRENT.with(|c| *c.borrow_mut() = current);
            f()
        });
        Ok(Self { name, log, handle })
    }

    /// Waits for the task, within the current stage's ceiling; on failure prints its log.
    pub fn join(self) -> Result<()> {
        let deadline = CURRENT.with(|c| c.borrow().as_ref().map(|c| (c.name, c.ceiling, c.deadline)));
        while !self.handle.is_finished() {
            if let Some((stage, ceiling, deadline)) = deadline
                && Instant::now() >= deadline
            {
                bail!(
                    "stage {stage} ran past its ceiling of {} waiting for {} (log: {})",
                    mmss(ceiling),
                    self.name,
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let result = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("{} panicked", self.name))?;
        if let Err(e) = &result {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("xtask: {} failed: {e:#}; the end of its log:", self.name);
            for line in tail.iter().rev() {
                eprintln!("  {line}");
            }
        }
        result
    }

    /// [`Background::join`], then prints the task's whole log (a task whose output belongs in
    /// the run's own).
    pub fn join_showing(self) -> Result<()> {
        let log = self.log.clone();
        let result = self.join();
        if result.is_ok() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            for line in text.lines() {
                eprintln!("  {line}");
            }
        }
        result
    }
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
