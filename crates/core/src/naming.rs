//! Daemon identities, as Rook names them: mons `a`, `b`, ... `z`, `aa`, ...;
//! mgrs likewise; MDS daemons after their filesystem, `<fs>-a`, `<fs>-b`, ...

/// The id of the `n`th (0-based) mon or mgr: a..z, then aa, ab, ...
pub fn letter_id(mut n: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The index `letter_id` made `id` from; None for an id not of that form.
pub fn letter_index(id: &str) -> Option<u32> {
    if id.is_empty() || id.len() > 6 || !id.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    // Bijective base 26: a..z are 1..26, so "aa" follows "z".
    let n = id
        .bytes()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'a') + 1);
    Some(n - 1)
}

/// The ids of a filesystem's `count` MDS daemons: `<fs>-a`, `<fs>-b`, ...
pub fn mds_ids(fs: &str, count: u32) -> Vec<String> {
    (0..count)
        .map(|i| format!("{fs}-{}", letter_id(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_then_pairs() {
        assert_eq!(letter_id(0), "a");
        assert_eq!(letter_id(2), "c");
        assert_eq!(letter_id(25), "z");
        assert_eq!(letter_id(26), "aa");
        assert_eq!(letter_id(27), "ab");
        assert_eq!(letter_id(26 + 26), "ba");
        for n in [0, 1, 25, 26, 27, 52, 701, 702, 5000] {
            assert_eq!(letter_index(&letter_id(n)), Some(n), "{n}");
        }
        assert_eq!(letter_index("myfs-a"), None);
        assert_eq!(letter_index(""), None);
    }

    #[test]
    fn mds_are_named_after_their_filesystem() {
        assert_eq!(mds_ids("myfs", 2), ["myfs-a", "myfs-b"]);
        assert!(mds_ids("myfs", 0).is_empty());
    }
}
