//! Server keys (`config` of `GET /1.0`): the `storage.linstor.*` keys that configure the
//! backend, and free-form `user.*` keys. Values are checked by the backend; this module knows
//! the names and turns a config into [`ServerSettings`].

use crate::backend::{BackendError, Config, ServerSettings};

pub const KEY_CONTROLLER_CONNECTION: &str = "storage.linstor.controller_connection";
pub const KEY_CA_CERT: &str = "storage.linstor.ca_cert";
pub const KEY_CLIENT_CERT: &str = "storage.linstor.client_cert";
pub const KEY_CLIENT_KEY: &str = "storage.linstor.client_key";
pub const KEY_SATELLITE_NAME: &str = "storage.linstor.satellite.name";

/// The keys that configure the backend (a change reconnects it).
pub const BACKEND_KEYS: [&str; 5] =
    [KEY_CONTROLLER_CONNECTION, KEY_CA_CERT, KEY_CLIENT_CERT, KEY_CLIENT_KEY, KEY_SATELLITE_NAME];

/// Refuses keys the server does not know, naming the key.
pub fn check_keys(config: &Config) -> Result<(), BackendError> {
    for key in config.keys() {
        if !BACKEND_KEYS.contains(&key.as_str()) && !key.starts_with("user.") {
            return Err(BackendError::config(format!(
                "Invalid option \"{key}\": not a server configuration key (known: {}, user.*)",
                BACKEND_KEYS.join(", ")
            )));
        }
    }
    Ok(())
}

fn non_empty(config: &Config, key: &str) -> Option<String> {
    config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_string)
}

/// The backend settings a config gives.
pub fn from_config(config: &Config) -> ServerSettings {
    ServerSettings {
        controllers: config
            .get(KEY_CONTROLLER_CONNECTION)
            .map(|list| {
                list.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect()
            })
            .unwrap_or_default(),
        ca_cert: non_empty(config, KEY_CA_CERT),
        client_cert: non_empty(config, KEY_CLIENT_CERT),
        client_key: non_empty(config, KEY_CLIENT_KEY),
        satellite_name: non_empty(config, KEY_SATELLITE_NAME),
    }
}

/// Whether going from `old` to `new` changes the backend's settings.
pub fn backend_changed(old: &Config, new: &Config) -> bool {
    from_config(old) != from_config(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn keys_and_settings() {
        assert!(check_keys(&cfg(&[(KEY_CONTROLLER_CONNECTION, "a"), ("user.foo", "x")])).is_ok());
        let err = check_keys(&cfg(&[("core.https_address", ":8443")])).unwrap_err();
        assert!(err.message.starts_with("Invalid option \"core.https_address\""), "{err}");
        let settings = from_config(&cfg(&[
            (KEY_CONTROLLER_CONNECTION, " http://a:3370, b ,,[::1]:3371"),
            (KEY_SATELLITE_NAME, "node1"),
            (KEY_CA_CERT, ""),
        ]));
        assert_eq!(settings.controllers, ["http://a:3370", "b", "[::1]:3371"]);
        assert_eq!(settings.satellite_name.as_deref(), Some("node1"));
        assert_eq!(settings.ca_cert, None);
        assert!(!backend_changed(&cfg(&[("user.a", "1")]), &cfg(&[("user.a", "2")])));
        assert!(backend_changed(&cfg(&[]), &cfg(&[(KEY_SATELLITE_NAME, "n")])));
    }
}
