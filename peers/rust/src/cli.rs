//! A small `--flag value` parser for the peer command-line contract.

use std::collections::HashMap;

/// Options that take no value.
const FLAGS: &[&str] = &["reconciler"];

pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `--name value` pairs; every name must be in `known`.
    pub fn parse(argv: &[String], known: &[&str]) -> Result<Args, String> {
        let mut values = HashMap::new();
        let mut i = 0;
        while i < argv.len() {
            let a = &argv[i];
            let (name, value) = if let Some(rest) = a.strip_prefix("--") {
                if let Some((n, v)) = rest.split_once('=') {
                    (n.to_string(), v.to_string())
                } else if FLAGS.contains(&rest) {
                    (rest.to_string(), "true".to_string())
                } else {
                    i += 1;
                    let v = argv
                        .get(i)
                        .ok_or_else(|| format!("--{rest} needs a value"))?;
                    (rest.to_string(), v.clone())
                }
            } else {
                return Err(format!("unexpected argument {a:?}"));
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown option --{name}"));
            }
            values.insert(name, value);
            i += 1;
        }
        Ok(Args { values })
    }

    /// Whether flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| v == "true")
    }

    pub fn required(&self, name: &str) -> Result<String, String> {
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    pub fn opt_string(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    pub fn opt_num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.values.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<T>()
                .map(Some)
                .map_err(|_| format!("--{name}: not a valid number: {v:?}")),
        }
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        Ok(self.opt_num(name)?.unwrap_or(default))
    }
}

/// One `TYPE@MIN-MAX` entry of `--handles`.
pub struct Handles {
    pub type_name: String,
    pub min_version: u32,
    pub max_version: u32,
}

/// Parses `TYPE@MIN-MAX[,TYPE@MIN-MAX...]`.
pub fn parse_handles(s: &str) -> Result<Vec<Handles>, String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (t, range) = part
                .rsplit_once('@')
                .ok_or_else(|| format!("--handles: {part:?} lacks @MIN-MAX"))?;
            let (lo, hi) = range
                .split_once('-')
                .ok_or_else(|| format!("--handles: {part:?} lacks MIN-MAX"))?;
            let min_version: u32 = lo
                .parse()
                .map_err(|_| format!("--handles: bad minimum in {part:?}"))?;
            let max_version: u32 = hi
                .parse()
                .map_err(|_| format!("--handles: bad maximum in {part:?}"))?;
            if t.is_empty() || min_version == 0 || min_version > max_version {
                return Err(format!("--handles: bad entry {part:?}"));
            }
            Ok(Handles {
                type_name: t.to_string(),
                min_version,
                max_version,
            })
        })
        .collect()
}
