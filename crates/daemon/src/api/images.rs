//! `/1.0/images`: the image store (Strand's extension `strand_images`). `POST` takes the image
//! file itself as an `application/octet-stream` body (an Incus unified image tarball, as `incus
//! image import` sends one, or a qcow2 or raw disk image), spools it while hashing it and
//! answers an operation that checks and keeps it; its metadata names the fingerprint.
//! `GET` lists and shows images, `DELETE` removes one (image volumes in pools stay).

use super::copies::async_answer;
use super::response::{ApiError, ApiResult, Async, Sync};
use super::{Ctx, PathParams};
use crate::images::ImageInfo;
use crate::operations::OperationSpec;
use crate::State;
use axum::body::Body;
use axum::extract::State as S;
use axum::http::HeaderMap;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

fn url_of(info: &ImageInfo) -> String {
    format!("/1.0/images/{}", info.fingerprint)
}

fn render(info: &ImageInfo) -> serde_json::Value {
    json!({
        "fingerprint": info.fingerprint,
        "type": info.image_type,
        "format": info.format,
        "compression": info.compression,
        "size": info.size,
        "unpacked_size": info.unpacked_size,
        "filename": info.filename,
        "created_at": info.created_at,
        "uploaded_at": info.created_at,
        "public": false,
        "auto_update": false,
        "properties": {},
        "aliases": [],
    })
}

/// A spooled upload, removed when dropped unless taken.
pub(crate) struct Spool {
    pub path: PathBuf,
    keep: bool,
}

impl Spool {
    pub fn take(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes a request body to `dir` (SHA-256 and size computed on the way).
pub(crate) async fn spool(body: Body, dir: &std::path::Path) -> ApiResult<(Spool, String, u64)> {
    let path = dir.join(format!("upload-{}", uuid::Uuid::new_v4()));
    let spool = Spool { path: path.clone(), keep: false };
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|err| ApiError::internal(format!("cannot create {}: {err}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|err| ApiError::bad_request(format!("Failed to read the upload: {err}")))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|err| ApiError::internal(format!("cannot write {}: {err}", path.display())))?;
    }
    file.sync_all()
        .await
        .map_err(|err| ApiError::internal(format!("cannot write {}: {err}", path.display())))?;
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((spool, digest, size))
}

/// `POST /1.0/images`: an image file as the body.
pub async fn create(S(state): S<Arc<State>>, ctx: Ctx, headers: HeaderMap, body: Body) -> ApiResult<Async> {
    let is_file = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    if !is_file {
        return Err(ApiError::bad_request(
            "Images are imported from a file: send it as an application/octet-stream body \
             (an Incus unified image tarball, or a qcow2 or raw disk image)",
        ));
    }
    let filename = ["x-strand-filename", "x-incus-filename", "x-lxd-filename"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(|f| f.rsplit('/').next().unwrap_or(f).to_string())
        .unwrap_or_default();
    let project = ctx.project()?;
    let dir = state.images.spool_dir().map_err(ApiError::internal)?;
    let (spooled, fingerprint, size) = spool(body, &dir).await?;
    if size == 0 {
        return Err(ApiError::bad_request("The image file is empty"));
    }
    let upload = spooled.take();
    let store = state.images.clone();
    let spec = OperationSpec::task("Creating image", project.clone())
        .resource("images", format!("/1.0/images/{fingerprint}"));
    let (events, requestor) = (state.events.clone(), ctx.requestor());
    let op = state.operations.start_with(spec, move |_| async move {
        let fp = fingerprint.clone();
        let added = tokio::task::spawn_blocking(move || store.add(&upload, &fp, &filename))
            .await
            .map_err(|err| format!("the image check stopped: {err}"))??;
        let (info, created) = added;
        if created {
            events.lifecycle("image-created", &url_of(&info), json!({"type": info.image_type}), &project, &requestor);
        }
        Ok(Some(json!({"fingerprint": info.fingerprint, "size": info.size, "type": info.image_type, "created": created})))
    });
    Ok(async_answer(op))
}

pub async fn list(S(state): S<Arc<State>>, ctx: Ctx) -> ApiResult<Sync> {
    let images = state.images.list();
    if ctx.recursion() > 0 {
        return Ok(Sync::new(images.iter().map(render).collect::<Vec<_>>()));
    }
    Ok(Sync::new(images.iter().map(url_of).collect::<Vec<_>>()))
}

fn not_found() -> ApiError {
    ApiError::not_found("Image not found")
}

pub async fn get(S(state): S<Arc<State>>, PathParams(fingerprint): PathParams<String>) -> ApiResult<Sync> {
    state.images.get(&fingerprint).map(|info| Sync::new(render(&info))).ok_or_else(not_found)
}

pub async fn delete(
    S(state): S<Arc<State>>,
    ctx: Ctx,
    PathParams(fingerprint): PathParams<String>,
) -> ApiResult<Sync> {
    let info = state.images.get(&fingerprint).ok_or_else(not_found)?;
    state.images.delete(&info.fingerprint).map_err(ApiError::internal)?;
    state.events.lifecycle("image-deleted", &url_of(&info), json!({}), &ctx.project()?, &ctx.requestor());
    Ok(Sync::empty())
}
