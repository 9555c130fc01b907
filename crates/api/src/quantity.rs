//! Byte sizes written as Kubernetes quantities: `10Gi`, `10G`, `512Mi`, `1.5Gi`,
//! `10737418240`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The forms [`Quantity`] accepts, for error messages.
const ACCEPTED: &str = "write a whole number of bytes (10737418240), or a number with a \
binary suffix Ki, Mi, Gi, Ti, Pi, Ei (10Gi, 1.5Gi) or a decimal suffix k, M, G, T, P, E (10G)";

const BINARY: [(&str, u64); 6] = [
    ("Ei", 1 << 60),
    ("Pi", 1 << 50),
    ("Ti", 1 << 40),
    ("Gi", 1 << 30),
    ("Mi", 1 << 20),
    ("Ki", 1 << 10),
];

const DECIMAL: [(&str, u64); 6] = [
    ("E", 1_000_000_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("T", 1_000_000_000_000),
    ("G", 1_000_000_000),
    ("M", 1_000_000),
    ("k", 1_000),
];

/// A size in bytes, read and written as a Kubernetes quantity.
///
/// Parsing is exact: `1.5Gi` is 1610612736 bytes, and a value that is not a whole
/// number of bytes (`1.5`, `0.1Ki`) is an error. [`Display`](fmt::Display) writes
/// the shortest exact form (`10Gi`, `10G`, `1536Mi`), so `1.5Gi` comes back as
/// `1536Mi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(u64);

/// A quantity that could not be read; says what was wrong and which forms work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}; {ACCEPTED}")]
pub struct QuantityError {
    /// The text as written.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Quantity {
    /// A quantity of exactly `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        Quantity(bytes)
    }

    /// `n` GiB.
    pub const fn gib(n: u64) -> Self {
        Quantity(n << 30)
    }

    /// `n` TiB.
    pub const fn tib(n: u64) -> Self {
        Quantity(n << 40)
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(input: &str) -> Result<Self, QuantityError> {
        parse(input.trim())
            .map(Quantity)
            .map_err(|reason| QuantityError {
                input: input.to_owned(),
                reason,
            })
    }
}

fn parse(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err("a size cannot be negative".into());
    }
    let number_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_len);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err("it does not start with a number".into());
    }
    if frac_part.contains('.') {
        return Err("the number has more than one '.'".into());
    }
    let (multiplier, exp10) = suffix_value(suffix)?;

    // value = digits / 10^frac_len * multiplier * 10^exp10, computed exactly.
    let digits: String = [int_part, frac_part].concat();
    let too_large = || "it is too large (the limit is just under 16Ei)".to_string();
    let mut value: u128 = digits.parse().map_err(|_| too_large())?;
    value = value
        .checked_mul(u128::from(multiplier))
        .ok_or_else(too_large)?;
    for _ in 0..exp10 {
        value = value.checked_mul(10).ok_or_else(too_large)?;
    }
    let divisor = 10u128
        .checked_pow(frac_part.len() as u32)
        .ok_or_else(too_large)?;
    if !value.is_multiple_of(divisor) {
        return Err("it is not a whole number of bytes".into());
    }
    u64::try_from(value / divisor).map_err(|_| too_large())
}

/// (multiplier, extra power of ten) for a suffix.
fn suffix_value(suffix: &str) -> Result<(u64, u32), String> {
    if suffix.is_empty() {
        return Ok((1, 0));
    }
    if let Some(&(_, m)) = BINARY
        .iter()
        .chain(DECIMAL.iter())
        .find(|(s, _)| *s == suffix)
    {
        return Ok((m, 0));
    }
    if let Some(exp) = suffix.strip_prefix('e') {
        if let Ok(exp) = exp.parse::<u32>() {
            return Ok((1, exp));
        }
    }
    Err(match suffix {
        "m" => "milli-units (m) do not make sense for bytes".into(),
        "K" => "K is not a Kubernetes suffix: use k (1000) or Ki (1024)".into(),
        s if s.ends_with("iB") || s.ends_with('B') => format!(
            "the suffix {s:?} is not a Kubernetes suffix: drop the B (Gi, not GiB; G, not GB)"
        ),
        s => format!("unknown suffix {s:?}"),
    })
}

/// Bytes for people, in binary units: whole numbers where exact ("5 GiB",
/// "512 B"), else one decimal ("1.5 GiB").
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut u = 0;
    while u < UNITS.len() - 1 && n >= 1 << (10 * (u + 1)) {
        u += 1;
    }
    let unit = 1u64 << (10 * u);
    if n.is_multiple_of(unit) {
        format!("{} {}", n / unit, UNITS[u])
    } else {
        format!("{:.1} {}", n as f64 / unit as f64, UNITS[u])
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes == 0 {
            return f.write_str("0");
        }
        // The largest unit of each family that divides exactly; the shorter text
        // wins, binary on a tie (sizes are mostly powers of two here).
        let best = |units: &[(&'static str, u64)]| {
            units
                .iter()
                .find(|(_, m)| bytes.is_multiple_of(*m))
                .map(|(s, m)| format!("{}{}", bytes / m, s))
        };
        let plain = bytes.to_string();
        let text = [best(&BINARY), best(&DECIMAL)]
            .into_iter()
            .flatten()
            .fold(plain, |acc, t| if t.len() < acc.len() { t } else { acc });
        f.write_str(&text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Kubernetes' quantity schema: an integer (bytes) or a string such as `10Gi`
/// (`x-kubernetes-int-or-string`, in the one `anyOf` form a structural schema allows).
impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [{ "type": "integer" }, { "type": "string" }],
            "x-kubernetes-int-or-string": true
        })
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;

        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a size: {ACCEPTED}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                u64::try_from(v).map(Quantity).map_err(|_| {
                    E::custom(format!("invalid quantity {v}: a size cannot be negative"))
                })
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                // YAML reads `1.5` as a float; go through the text so the rules are the same.
                v.to_string().parse().map_err(E::custom)
            }
        }

        d.deserialize_any(QuantityVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> u64 {
        s.parse::<Quantity>()
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .bytes()
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(human_bytes(5 << 30), "5 GiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1 << 40), "1 TiB");
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(q("10Gi"), 10 << 30);
        assert_eq!(q("10G"), 10_000_000_000);
        assert_eq!(q("512Mi"), 512 << 20);
        assert_eq!(q("1Ti"), 1 << 40);
        assert_eq!(q("1.5Gi"), 3 << 29);
        assert_eq!(q("10737418240"), 10 << 30);
        assert_eq!(q("0"), 0);
        assert_eq!(q("1k"), 1000);
        assert_eq!(q("1Ki"), 1024);
        assert_eq!(q(".5Ki"), 512);
        assert_eq!(q("2."), 2);
        assert_eq!(q("+4Ki"), 4096);
        assert_eq!(q(" 1Gi "), 1 << 30);
        assert_eq!(q("1e3"), 1000);
        assert_eq!(q("1.5e3"), 1500);
        assert_eq!(q("15Ei"), 15 << 60);
    }

    #[test]
    fn rejects_bad_input_with_the_accepted_forms() {
        for (input, reason) in [
            ("", "empty"),
            ("Gi", "does not start with a number"),
            ("-1Gi", "negative"),
            ("10GB", "drop the B"),
            ("10GiB", "drop the B"),
            ("10K", "use k (1000) or Ki (1024)"),
            ("10m", "milli"),
            ("10gi", "unknown suffix"),
            ("1.5", "whole number of bytes"),
            ("0.1Ki", "whole number of bytes"),
            ("1.2.3", "more than one '.'"),
            ("16Ei", "too large"),
            ("99999999999999999999999999999999999999999", "too large"),
            ("1e99", "too large"),
        ] {
            let err = input.parse::<Quantity>().unwrap_err();
            let text = err.to_string();
            assert!(text.contains(reason), "{input:?}: {text}");
            assert!(text.contains("Ki, Mi, Gi"), "{input:?}: {text}");
        }
    }

    #[test]
    fn displays_the_shortest_exact_form() {
        for (input, shown) in [
            ("10Gi", "10Gi"),
            ("10G", "10G"),
            ("1.5Gi", "1536Mi"),
            ("1024", "1Ki"),
            ("1000", "1k"),
            ("1001", "1001"),
            ("0", "0"),
            ("16Ti", "16Ti"),
        ] {
            assert_eq!(input.parse::<Quantity>().unwrap().to_string(), shown);
        }
    }

    #[test]
    fn display_round_trips() {
        for bytes in [
            1,
            7,
            1023,
            1024,
            1000,
            10 << 30,
            3 << 29,
            10_000_000_000,
            u64::MAX,
        ] {
            let shown = Quantity::from_bytes(bytes).to_string();
            assert_eq!(q(&shown), bytes, "{shown}");
        }
    }

    #[test]
    fn serde_takes_strings_and_integers_and_names_the_field() {
        #[derive(Debug, Deserialize, Serialize)]
        struct S {
            size: Quantity,
        }
        let s: S = serde_yaml::from_str("size: 10Gi").unwrap();
        assert_eq!(s.size, Quantity::gib(10));
        let s: S = serde_yaml::from_str("size: 1073741824").unwrap();
        assert_eq!(s.size, Quantity::gib(1));
        assert_eq!(serde_yaml::to_string(&s).unwrap(), "size: 1Gi\n");
        let err = serde_yaml::from_str::<S>("size: 10GB")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("size: invalid quantity \"10GB\""), "{err}");
        let err = serde_yaml::from_str::<S>("size: -5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("negative"), "{err}");
        let err = serde_yaml::from_str::<S>("size: 1.5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole number of bytes"), "{err}");
    }
}
