//! Warnings: things in a manifest that rookery keeps but does not act on.

use std::fmt;

use crate::meta::ObjectRef;
use crate::Extra;

/// Something worth telling the user that does not stop the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The object it is about.
    pub object: ObjectRef,
    /// The field path inside the object, e.g. `spec.mon.foo` (empty: the whole object).
    pub path: String,
    /// What kind of warning, with its details.
    pub kind: WarningKind,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// Neither a Rook field nor a rookery extension, often a typo. Kept as written.
    UnknownField {
        /// A known field at the same level with a similar name.
        did_you_mean: Option<&'static str>,
    },
    /// A field of Rook's schema that rookery keeps but does not act on (yet).
    RookOnly,
    /// A known field the local runtime ignores, and why.
    Ignored {
        /// Why it is ignored, and what to use instead.
        reason: String,
    },
    /// Advice about a value that works but probably not as intended.
    Advice {
        /// What to know or do.
        message: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.object)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        match &self.kind {
            WarningKind::UnknownField { did_you_mean } => {
                f.write_str("unknown field (kept, ignored)")?;
                if let Some(name) = did_you_mean {
                    write!(f, "; did you mean {name:?}?")?;
                }
                Ok(())
            }
            WarningKind::RookOnly => {
                f.write_str("a Rook setting that rookery does not use (kept, ignored)")
            }
            WarningKind::Ignored { reason } => {
                write!(f, "ignored by the local runtime (kept): {reason}")
            }
            WarningKind::Advice { message } => f.write_str(message),
        }
    }
}

/// Collects the warnings of one object while its fields are walked.
#[derive(Debug)]
pub(crate) struct Report<'a> {
    object: ObjectRef,
    out: &'a mut Vec<Warning>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(object: ObjectRef, out: &'a mut Vec<Warning>) -> Self {
        Report { object, out }
    }

    pub(crate) fn push(&mut self, path: &str, kind: WarningKind) {
        self.out.push(Warning {
            object: self.object.clone(),
            path: path.to_owned(),
            kind,
        });
    }

    pub(crate) fn ignored(&mut self, path: &str, reason: &str) {
        self.push(
            path,
            WarningKind::Ignored {
                reason: reason.to_owned(),
            },
        );
    }

    pub(crate) fn advice(&mut self, path: &str, message: String) {
        self.push(path, WarningKind::Advice { message });
    }

    /// One warning per field in `extra`: Rook-only when Rook's schema has it at
    /// this level, unknown otherwise (with a near-miss suggestion).
    pub(crate) fn extra(
        &mut self,
        path: &str,
        extra: &Extra,
        known: &'static [&'static str],
        rook_only: &'static [&'static str],
    ) {
        for key in extra.keys() {
            let field = join(path, key);
            let kind = if rook_only.contains(&key.as_str()) {
                WarningKind::RookOnly
            } else {
                WarningKind::UnknownField {
                    did_you_mean: did_you_mean(key, known.iter().chain(rook_only)),
                }
            };
            self.push(&field, kind);
        }
    }
}

/// `spec` + `mon` -> `spec.mon`.
pub(crate) fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// The candidate closest to `key`: same name but for case, or at most two edits
/// away (one for short names).
fn did_you_mean<'a>(
    key: &str,
    candidates: impl Iterator<Item = &'a &'static str>,
) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for &c in candidates {
        let d = if c.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &c.to_ascii_lowercase())
        };
        let limit = if c.len() <= 4 { 1 } else { 2 };
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let known: &[&'static str] = &["count", "allowMultiplePerNode", "modules"];
        assert_eq!(did_you_mean("cout", known.iter()), Some("count"));
        assert_eq!(
            did_you_mean("allowmultiplepernode", known.iter()),
            Some("allowMultiplePerNode")
        );
        assert_eq!(did_you_mean("module", known.iter()), Some("modules"));
        assert_eq!(did_you_mean("foo", known.iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
