//! Controller-wide calls: version, properties, key-value stores, statistics, health.

use crate::{Client, Error, Method};
use linstor_api::{ApiCallRc, ControllerVersion, Count, KeyValueStore, Props, PropsModify};

impl Client {
    /// `GET /v1/controller/version`.
    pub async fn controller_version(&self) -> Result<ControllerVersion, Error> {
        self.get_json(&["v1", "controller", "version"], &[]).await
    }

    /// `GET /health`: `Ok` when the controller says it is healthy.
    pub async fn health(&self) -> Result<(), Error> {
        let answer = self.request(Method::GET, &["health"], &[], None).await?;
        match answer.status {
            200..=299 => Ok(()),
            status => Err(Error::Http { status, body: String::from_utf8_lossy(&answer.body).into_owned() }),
        }
    }

    /// `GET /v1/controller/properties`.
    pub async fn controller_props(&self) -> Result<Props, Error> {
        self.get_json(&["v1", "controller", "properties"], &[]).await
    }

    /// `POST /v1/controller/properties`: set and delete controller properties.
    pub async fn controller_props_modify(&self, change: &PropsModify) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::POST, &["v1", "controller", "properties"], &[], Some(change)).await
    }

    /// `DELETE /v1/controller/properties/{key}` (the key's `/` stay path separators).
    pub async fn controller_prop_delete(&self, key: &str) -> Result<Vec<ApiCallRc>, Error> {
        let mut path = vec!["v1", "controller", "properties"];
        path.extend(key.split('/'));
        self.call_rc_empty(Method::DELETE, &path).await
    }

    /// `GET /v1/key-value-store`: every store.
    pub async fn kvs_list(&self) -> Result<Vec<KeyValueStore>, Error> {
        self.get_json(&["v1", "key-value-store"], &[]).await
    }

    /// `GET /v1/key-value-store/{instance}`: a list holding the store, empty when it does not
    /// exist (as LINSTOR answers).
    pub async fn kvs_get(&self, instance: &str) -> Result<Vec<KeyValueStore>, Error> {
        self.get_json(&["v1", "key-value-store", instance], &[]).await
    }

    /// `PUT /v1/key-value-store/{instance}`: creates the store on first use.
    pub async fn kvs_modify(&self, instance: &str, change: &PropsModify) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc(Method::PUT, &["v1", "key-value-store", instance], &[], Some(change)).await
    }

    /// `DELETE /v1/key-value-store/{instance}`.
    pub async fn kvs_delete(&self, instance: &str) -> Result<Vec<ApiCallRc>, Error> {
        self.call_rc_empty(Method::DELETE, &["v1", "key-value-store", instance]).await
    }

    /// `GET /v1/stats/{what}` (`nodes`, `resource-definitions`, `resource-groups`,
    /// `resources`, `storage-pools`, `error-reports`).
    pub async fn stats(&self, what: &str) -> Result<Count, Error> {
        self.get_json(&["v1", "stats", what], &[]).await
    }
}
