//! Formatting for people.

/// 1536 -> "1.5 KiB", 10 GiB -> "10 GiB".
pub use rookery_api::human_bytes as bytes;

/// 3725 -> "1h 2m".
pub fn age(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        3600..=86399 => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
        _ => format!("{}d {}h", secs / 86400, (secs % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_well() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(125), "2m 5s");
        assert_eq!(age(3725), "1h 2m");
        assert_eq!(age(90000), "1d 1h");
    }
}
