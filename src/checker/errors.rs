//! Configuration errors that say where they are.

use std::fmt;

/// One step into the configuration tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in the configuration: `targets[1].kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The whole document.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Key(k.to_owned()));
        Self(v)
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Index(i));
        Self(v)
    }

    /// This path, ending at key `k`: unchanged when it already does.
    pub fn with_last_key(&self, k: &str) -> Self {
        match self.0.last() {
            Some(Segment::Key(last)) if last == k => self.clone(),
            _ => self.key(k),
        }
    }

    /// The steps, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Appends the path serde reported inside a value at this path.
    pub fn join_serde(&self, inner: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        let mut out = self.clone();
        for seg in inner.iter() {
            match seg {
                S::Seq { index } => out.0.push(Segment::Index(*index)),
                S::Map { key } => out.0.push(Segment::Key(key.clone())),
                S::Enum { variant } => out.0.push(Segment::Key(variant.clone())),
                S::Unknown => {}
            }
        }
        out
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Where a bad value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of the configuration file (1-based).
    Line(usize),
    /// An environment variable override.
    Env(String),
    /// A default, or a place the parser could not pin down.
    Unknown,
}

/// One mistake in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key that is wrong.
    pub path: KeyPath,
    /// What is wrong with it, as a sentence fragment that names the rule.
    pub message: String,
    /// Where it was written.
    pub origin: Origin,
}

impl ConfigError {
    /// An error at a key path; the origin is filled in by the loader.
    pub fn new(path: KeyPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
            origin: Origin::Unknown,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Line(n) => write!(f, "line {n}: {}: {}", self.path, self.message),
            Origin::Env(var) => write!(f, "{var}: {}: {}", self.path, self.message),
            Origin::Unknown => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Every mistake found in one configuration, in file order where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// Wraps a list that is known to be non-empty.
    pub fn new(errors: Vec<ConfigError>) -> Self {
        Self(errors)
    }

    /// Orders the errors as they stand in the file; overrides and defaults go last.
    pub fn sort_by_origin(&mut self) {
        self.0.sort_by_key(|e| match e.origin {
            Origin::Line(n) => n,
            _ => usize::MAX,
        });
    }

    /// A single error.
    pub fn single(e: ConfigError) -> Self {
        Self(vec![e])
    }

    /// The errors.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut ConfigError> {
        self.0.iter_mut()
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a value returned by the loader.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
