//! Configuration: built-in defaults, then `broadside.toml` (or `--config FILE`), then
//! `BROADSIDE_*` environment variables, then command-line flags; later sources win.
//!
//! Everything is checked once here, so a bad value stops start-up with one sentence that names
//! the setting, and code past this point holds only valid values.

use std::{
    fs,
    net::SocketAddr,
    num::NonZeroUsize,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use url::Url;

/// The settings file read from the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "broadside.toml";

/// Setting names, shared by the TOML file (as written) and the environment (upper-cased, with the
/// `BROADSIDE_` prefix).
const KEYS: [&str; 10] = [
    "base_url",
    "listen",
    "database_url",
    "data_dir",
    "allow_private_networks",
    "extra_ca_file",
    "log",
    "api_requests_per_minute",
    "authorized_fetch",
    "http_threads",
];

/// API requests one token may make per minute (in a burst, or spread out) by default.
pub const DEFAULT_API_REQUESTS_PER_MINUTE: u32 = 300;

/// A setting that could not be used, with the sentence that explains why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the configuration: {0}")]
    Read(String),
    #[error("setting `{key}` (BROADSIDE_{env}): {message}")]
    Invalid {
        key: &'static str,
        env: String,
        message: String,
    },
}

impl ConfigError {
    fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            env: key.to_ascii_uppercase(),
            message: message.into(),
        }
    }
}

/// Values as they come from the layered sources, before they are checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    base_url: String,
    listen: String,
    database_url: String,
    data_dir: PathBuf,
    allow_private_networks: bool,
    extra_ca_file: Option<PathBuf>,
    log: String,
    api_requests_per_minute: u32,
    authorized_fetch: bool,
    /// 0 for one per core.
    http_threads: usize,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            base_url: "http://localhost:8080".into(),
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/broadside.db".into(),
            data_dir: PathBuf::from("./data"),
            allow_private_networks: false,
            extra_ca_file: None,
            log: "info".into(),
            api_requests_per_minute: DEFAULT_API_REQUESTS_PER_MINUTE,
            authorized_fetch: false,
            http_threads: 0,
        }
    }
}

/// Values given as command-line flags; `None` leaves the lower layers' value in place.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_private_networks: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_ca_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// Which database the instance keeps its state in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The embedded default: a file, created with its folder on first run.
    Sqlite { url: String, path: PathBuf },
    /// The scale-out choice: several processes and machines share one server.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        if let Some(rest) = value.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(format!("`{value}` names no database file"));
            }
            Ok(Self::Sqlite {
                url: value.to_owned(),
                path: PathBuf::from(path),
            })
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Url::parse(value).map_err(|e| format!("`{value}` is not a valid URL: {e}"))?;
            Ok(Self::Postgres(value.to_owned()))
        } else {
            Err(format!(
                "`{value}` is neither a sqlite:// nor a postgres:// database URL"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } => url,
            Self::Postgres(url) => url,
        }
    }
}

/// The checked configuration every part of the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The public origin; every ActivityPub id starts with it. No trailing path.
    pub base_url: Url,
    pub listen: SocketAddr,
    pub database: DatabaseUrl,
    pub data_dir: PathBuf,
    /// Lets the server fetch from and deliver to loopback and private addresses.
    pub allow_private_networks: bool,
    /// PEM root certificates trusted for outgoing HTTPS on top of the system's.
    pub extra_ca_pem: Option<Vec<u8>>,
    pub log: String,
    /// The API's per-token rate limit: requests per minute, refilled evenly.
    pub api_requests_per_minute: u32,
    /// ActivityPub posts and collections only for signed fetches of actors not blocked here
    /// ("authorized fetch", as Mastodon calls it). Web pages stay public.
    pub authorized_fetch: bool,
    /// How many threads serve HTTP connections (`web::serve`); one per core unless set.
    pub http_threads: NonZeroUsize,
}

impl Config {
    /// Reads every layer. `file` is `--config`; without it `broadside.toml` is read if present.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::Read(format!(
                    "the configuration file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        let raw: RawConfig = figment
            .merge(Env::prefixed("BROADSIDE_").only(&KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError::Read(e.to_string()))?;
        Self::check(raw)
    }

    fn check(raw: RawConfig) -> Result<Self, ConfigError> {
        let base_url =
            parse_base_url(&raw.base_url).map_err(|m| ConfigError::invalid("base_url", m))?;
        let listen = raw.listen.parse().map_err(|_| {
            ConfigError::invalid(
                "listen",
                format!(
                    "`{}` is not an address and port such as 127.0.0.1:8080",
                    raw.listen
                ),
            )
        })?;
        let database = DatabaseUrl::parse(&raw.database_url)
            .map_err(|m| ConfigError::invalid("database_url", m))?;
        ensure_writable_dir(&raw.data_dir).map_err(|m| ConfigError::invalid("data_dir", m))?;
        let extra_ca_pem = raw
            .extra_ca_file
            .as_deref()
            .map(read_ca_file)
            .transpose()
            .map_err(|m| ConfigError::invalid("extra_ca_file", m))?;
        tracing_subscriber::EnvFilter::try_new(&raw.log).map_err(|e| {
            ConfigError::invalid("log", format!("`{}` is not a tracing filter: {e}", raw.log))
        })?;
        if raw.api_requests_per_minute == 0 {
            return Err(ConfigError::invalid(
                "api_requests_per_minute",
                "must be at least 1 (the API would refuse every request)",
            ));
        }
        Ok(Self {
            base_url,
            listen,
            database,
            data_dir: raw.data_dir,
            allow_private_networks: raw.allow_private_networks,
            extra_ca_pem,
            log: raw.log,
            api_requests_per_minute: raw.api_requests_per_minute,
            authorized_fetch: raw.authorized_fetch,
            http_threads: NonZeroUsize::new(raw.http_threads).unwrap_or_else(cores),
        })
    }

    /// The authority (host, with the port if there is one) that handles end in: `isg@HOST`.
    pub fn host(&self) -> String {
        authority(&self.base_url)
    }
}

/// The cores this process may use (its CPU quota, in a container), or one if unknown: the
/// default number of `http_threads`.
pub fn cores() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// The host of a URL with its explicit port, as used in handles and signature `Host` headers.
pub fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn parse_base_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{value}` must start with https:// (or http:// for local testing)"
        ));
    }
    if url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
        return Err(format!(
            "`{value}` must be an origin such as https://example.org, without a path or query"
        ));
    }
    Ok(url)
}

fn ensure_writable_dir(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    let probe = dir.join(".broadside-write-test");
    fs::write(&probe, b"").map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    // The probe has done its job; failing to remove it changes nothing.
    let _ = fs::remove_file(probe);
    Ok(())
}

fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    let pem = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawConfig {
        let dir = std::env::temp_dir().join("broadside-config-test");
        RawConfig {
            data_dir: dir,
            ..RawConfig::default()
        }
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::check(raw()).unwrap();
        assert_eq!(config.base_url.as_str(), "http://localhost:8080/");
        assert_eq!(config.host(), "localhost:8080");
        assert!(
            matches!(config.database, DatabaseUrl::Sqlite { ref path, .. } if path == Path::new("data/broadside.db"))
        );
    }

    #[test]
    fn an_unparsable_base_url_names_the_setting() {
        let err = Config::check(RawConfig {
            base_url: "not a url".into(),
            ..raw()
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("setting `base_url` (BROADSIDE_BASE_URL)"),
            "{err}"
        );
    }

    #[test]
    fn a_base_url_with_a_path_is_refused() {
        let err = Config::check(RawConfig {
            base_url: "https://example.org/social".into(),
            ..raw()
        })
        .unwrap_err();
        assert!(err.to_string().contains("without a path"), "{err}");
    }

    #[test]
    fn an_unknown_database_scheme_is_refused() {
        let err = Config::check(RawConfig {
            database_url: "mysql://db/x".into(),
            ..raw()
        })
        .unwrap_err();
        assert!(err.to_string().contains("BROADSIDE_DATABASE_URL"), "{err}");
    }

    #[test]
    fn an_unwritable_data_dir_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        // A folder cannot be made below a plain file.
        let err = Config::check(RawConfig {
            data_dir: file.path().join("sub"),
            ..raw()
        })
        .unwrap_err();
        assert!(err.to_string().contains("BROADSIDE_DATA_DIR"), "{err}");
    }

    #[test]
    fn a_bad_listen_address_is_refused() {
        let err = Config::check(RawConfig {
            listen: "8080".into(),
            ..raw()
        })
        .unwrap_err();
        assert!(err.to_string().contains("BROADSIDE_LISTEN"), "{err}");
    }

    #[test]
    fn later_layers_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.toml");
        fs::write(
            &file,
            format!(
                "base_url = \"https://from-file.example\"\nlisten = \"127.0.0.1:9000\"\ndata_dir = \"{}\"\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let config = Config::load(
            Some(&file),
            Overrides {
                listen: Some("127.0.0.1:9100".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(config.base_url.as_str(), "https://from-file.example/");
        assert_eq!(config.listen.port(), 9100);
    }

    #[test]
    fn a_zero_api_rate_is_refused() {
        let err = Config::check(RawConfig {
            api_requests_per_minute: 0,
            ..raw()
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("BROADSIDE_API_REQUESTS_PER_MINUTE"),
            "{err}"
        );
        assert_eq!(
            Config::check(raw()).unwrap().api_requests_per_minute,
            DEFAULT_API_REQUESTS_PER_MINUTE
        );
    }

    #[test]
    fn a_typo_in_the_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.toml");
        fs::write(&file, "base_ulr = \"https://x.example\"\n").unwrap();
        let err = Config::load(Some(&file), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("base_ulr"), "{err}");
    }

    #[test]
    fn authorized_fetch_is_off_unless_set() {
        assert!(!Config::check(raw()).unwrap().authorized_fetch);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.toml");
        let data = dir.path().join("data");
        fs::write(
            &file,
            format!(
                "authorized_fetch = true\ndata_dir = \"{}\"\n",
                data.display()
            ),
        )
        .unwrap();
        let config = Config::load(Some(&file), Overrides::default()).unwrap();
        assert!(config.authorized_fetch);
    }

    #[test]
    fn http_threads_are_one_per_core_unless_set() {
        assert_eq!(Config::check(raw()).unwrap().http_threads, cores());
        let three = RawConfig {
            http_threads: 3,
            ..raw()
        };
        assert_eq!(Config::check(three).unwrap().http_threads.get(), 3);
    }
}
