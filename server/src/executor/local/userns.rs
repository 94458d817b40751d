//! The job's namespaces for a server that is not root: a user namespace first
//! (`CLONE_NEWUSER`, which Linux lets any user create where
//! `/proc/sys/user/max_user_namespaces` allows it), in which `job-init` is root — able to mount
//! the job's `/proc` and root file system — while outside it is the server's own unprivileged
//! user (`0 <uid> 1` in `uid_map`, as `unshare --map-root-user` and rootless containers do).
//! Before the job starts, `job-init` drops every capability it holds there (the bounding set,
//! and the `securebits` that would give a root `execve` new ones), so the job is root of
//! nothing.

use rustix::thread::{
    CapabilitiesSecureBits, CapabilitySet, CapabilitySets, remove_capability_from_bounding_set, set_capabilities,
    set_capabilities_secure_bits,
};

/// Maps this process's user and group (taken before `unshare`) to root of the user namespace
/// it just entered. `setgroups` is denied first, as the kernel requires of an unprivileged
/// writer of `gid_map`.
pub fn map_root(outer_uid: u32, outer_gid: u32) -> std::io::Result<()> {
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text)
            .map_err(|e| std::io::Error::other(format!("writing /proc/self/{file}: {e}")))
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("0 {outer_uid} 1"))?;
    write("gid_map", format!("0 {outer_gid} 1"))
}

/// The user outside every user namespace that `uid` (of this process's namespace) stands for,
/// read from `/proc/self/uid_map` (`inside outside count` lines); `None` when it is unmapped.
pub fn outer_uid(uid: u32) -> Option<u32> {
    let map = std::fs::read_to_string("/proc/self/uid_map").ok()?;
    outer_of(&map, uid)
}

fn outer_of(map: &str, uid: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut f = line.split_whitespace().map(|n| n.parse::<u64>().ok());
        let (inside, outside, count) = (f.next()??, f.next()??, f.next()??);
        let uid = u64::from(uid);
        (inside..inside.saturating_add(count))
            .contains(&uid)
            .then(|| u32::try_from(outside + (uid - inside)).ok())
            .flatten()
    })
}

/// Drops every capability of this process for good: empties the bounding set, locks the
/// `securebits` so that neither `execve` as root nor a change of user grants any back, and
/// clears the effective, permitted and inheritable sets. What it starts afterwards has none.
pub fn drop_capabilities() -> std::io::Result<()> {
    for bit in 0..64 {
        let cap = CapabilitySet::from_bits_retain(1u64 << bit);
        if CapabilitySet::all().contains(cap) {
            // A capability this kernel does not know answers EINVAL: nothing to drop.
            let _ = remove_capability_from_bounding_set(cap);
        }
    }
    set_capabilities_secure_bits(
        CapabilitiesSecureBits::NO_ROOT
            | CapabilitiesSecureBits::NO_ROOT_LOCKED
            | CapabilitiesSecureBits::NO_SETUID_FIXUP
            | CapabilitiesSecureBits::NO_SETUID_FIXUP_LOCKED
            | CapabilitiesSecureBits::KEEP_CAPS_LOCKED,
    )
    .map_err(|e| std::io::Error::other(format!("locking the securebits: {e}")))?;
    set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        },
    )
    .map_err(|e| std::io::Error::other(format!("dropping capabilities: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_maps_translate_inside_to_outside() {
        let initial = "         0          0 4294967295\n";
        assert_eq!(outer_of(initial, 0), Some(0));
        assert_eq!(outer_of(initial, 1000), Some(1000));
        let rootless = "         0       1000          1\n";
        assert_eq!(outer_of(rootless, 0), Some(1000));
        assert_eq!(outer_of(rootless, 1), None);
        let ranges = "0 1000 1\n1 100000 65536\n";
        assert_eq!(outer_of(ranges, 5), Some(100_004));
        assert_eq!(outer_of("garbage", 0), None);
    }
}
