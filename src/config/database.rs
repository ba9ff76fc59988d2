//! Where a SQLite database is. A relative `sqlite://` path in a configuration file is taken
//! relative to that file's directory, so `cachewarden token create --config /etc/cw.toml` and
//! the daemon open the same database whatever directory each was started from. Without a file
//! (the embedded default) it is relative to the working directory.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::DatabaseSettings;

/// The file part and the rest (`?…`) of a SQLite URL, as sqlx reads it (`sqlite://FILE`,
/// `sqlite:FILE`); `None` for other databases and in-memory ones.
fn split(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (file, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    (!file.is_empty() && file != ":memory:").then_some((file, query))
}

impl DatabaseSettings {
    /// The SQLite file this names, if it is SQLite on disk.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        split(self.url.expose_secret()).map(|(file, _)| PathBuf::from(file))
    }

    /// Makes a relative SQLite path relative to `dir` (the configuration file's directory).
    pub(super) fn anchor(&mut self, dir: &Path) {
        let url = self.url.expose_secret();
        let Some((file, query)) = split(url) else {
            return;
        };
        if Path::new(file).is_absolute() || dir.as_os_str().is_empty() {
            return;
        }
        let anchored = format!("sqlite://{}{query}", dir.join(file).display());
        self.url = SecretString::from(anchored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(url: &str) -> DatabaseSettings {
        DatabaseSettings {
            url: SecretString::from(url.to_owned()),
            max_connections: 1,
        }
    }

    #[test]
    fn relative_sqlite_paths_follow_the_configuration_file() {
        // (url, anchored url)
        let table = [
            ("sqlite://cachewarden.db", "sqlite:///etc/cw/cachewarden.db"),
            (
                "sqlite:data/cw.db?mode=rw",
                "sqlite:///etc/cw/data/cw.db?mode=rw",
            ),
            ("sqlite://../cw.db", "sqlite:///etc/cw/../cw.db"),
            ("sqlite:///var/lib/cw.db", "sqlite:///var/lib/cw.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://u:p@db/cw", "postgres://u:p@db/cw"),
        ];
        for (url, want) in table {
            let mut d = db(url);
            d.anchor(Path::new("/etc/cw"));
            assert_eq!(d.url.expose_secret(), want, "{url}");
        }
        let mut d = db("sqlite://cachewarden.db");
        d.anchor(Path::new(""));
        assert_eq!(d.sqlite_file(), Some(PathBuf::from("cachewarden.db")));
        assert_eq!(db("postgres://db/cw").sqlite_file(), None);
    }
}
