//! One TCP connection to a remote satellite: the handshake, and a [`SatelliteLink`] that sends
//! requests and matches answers to them by id.
//!
//! Rules:
//! - A request waits for its answer only while the connection lives: when the connection
//!   closes (read error, end of stream, write error, or the owner drops it), every waiting
//!   request fails at once and the link reports itself disconnected.
//! - Answers are matched by id, so a ping is answered while a long apply runs, and a late
//!   answer to a request that gave up is dropped.
//! - Nothing the satellite sends can panic the controller: every malformed frame closes the
//!   connection with a reason.

use crate::link::frame::{self, FrameError};
use crate::link::{
    ControllerMessage, DesiredState, Observed, SatelliteMessage, ToController, ToSatellite, PROTOCOL_VERSION,
};
use crate::satellites::{BoxFuture, SatelliteLink};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The longest a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest the satellite may take to answer the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection could not be made; each maps to a LINSTOR `connection_status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach {0}")]
    Unreachable(String),
    #[error("the satellite is connected to another controller ({0})")]
    OtherController(String),
    #[error("the satellite serves node '{0}'")]
    WrongNode(String),
    #[error("the satellite speaks protocol version {0}, this controller {PROTOCOL_VERSION}")]
    VersionMismatch(u32),
    #[error("the satellite answered the handshake wrongly: {0}")]
    Protocol(String),
}

impl ConnectError {
    /// The node's `connection_status` while this error stands.
    pub fn status(&self) -> &'static str {
        match self {
            ConnectError::Unreachable(_) | ConnectError::Protocol(_) => "OFFLINE",
            ConnectError::OtherController(_) => "OTHER_CONTROLLER",
            ConnectError::WrongNode(_) => "HOSTNAME_MISMATCH",
            ConnectError::VersionMismatch(_) => "VERSION_MISMATCH",
        }
    }
}

struct Pending {
    /// Set once the connection is gone; never cleared (a new connection is a new link).
    closed: Option<String>,
    waiting: HashMap<u64, oneshot::Sender<SatelliteMessage>>,
}

struct Inner {
    node_name: String,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    closed: watch::Sender<bool>,
}

/// The [`SatelliteLink`] of one established connection. Cheap to clone; all clones are the
/// same connection.
#[derive(Clone)]
pub struct TcpLink {
    inner: Arc<Inner>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn close(&self, reason: String) {
        let mut pending = self.lock();
        if pending.closed.is_none() {
            pending.closed = Some(reason);
        }
        // Dropping the senders fails every waiting request.
        pending.waiting.clear();
        drop(pending);
        self.closed.send_replace(true);
    }

    fn closed_reason(&self) -> String {
        let reason = self.lock().closed.clone().unwrap_or_else(|| "the connection closed".into());
        format!("no connection to satellite '{}': {reason}", self.node_name)
    }

    async fn request(
        &self,
        msg: ControllerMessage,
        timeout: Option<Duration>,
    ) -> Result<SatelliteMessage, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let bytes = frame::encode(&ToSatellite { id, msg }).map_err(|err| err.to_string())?;
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.lock();
            if pending.closed.is_some() {
                drop(pending);
                return Err(self.closed_reason());
            }
            pending.waiting.insert(id, tx);
        }
        if self.outgoing.send(bytes).is_err() {
            self.lock().waiting.remove(&id);
            return Err(self.closed_reason());
        }
        let answer = match timeout {
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(answer) => answer,
                Err(_) => {
                    self.lock().waiting.remove(&id);
                    return Err(format!(
                        "satellite '{}' did not answer within {} ms",
                        self.node_name,
                        limit.as_millis()
                    ));
                }
            },
            None => rx.await,
        };
        answer.map_err(|_| self.closed_reason())
    }

    fn answer(&self, reply: ToController) {
        let waiting = self.lock().waiting.remove(&reply.id);
        if let Some(tx) = waiting {
            let _ = tx.send(reply.msg);
        }
    }
}

impl TcpLink {
    /// Marks the link closed and fails every waiting request.
    pub fn close(&self, reason: impl Into<String>) {
        self.inner.close(reason.into());
    }

    /// Resolves once the connection is closed.
    pub async fn wait_closed(&self) {
        let mut rx = self.inner.closed.subscribe();
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Why the connection closed, once it has.
    pub fn closed_reason(&self) -> Option<String> {
        self.inner.lock().closed.clone()
    }

    /// Sends `msg` and waits for its answer (at most `timeout`, if given).
    pub async fn request(
        &self,
        msg: ControllerMessage,
        timeout: Option<Duration>,
    ) -> Result<SatelliteMessage, String> {
        self.inner.request(msg, timeout).await
    }

    /// A round trip: `Ok` when the satellite answered `Pong` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        match self.request(ControllerMessage::Ping, Some(timeout)).await? {
            SatelliteMessage::Pong => Ok(()),
            other => Err(format!("unexpected answer to a ping: {}", kind(&other))),
        }
    }
}

fn kind(msg: &SatelliteMessage) -> &'static str {
    match msg {
        SatelliteMessage::Welcome { .. } => "Welcome",
        SatelliteMessage::Busy { .. } => "Busy",
        SatelliteMessage::WrongNode { .. } => "WrongNode",
        SatelliteMessage::VersionMismatch { .. } => "VersionMismatch",
        SatelliteMessage::Observed(_) => "Observed",
        SatelliteMessage::Pong => "Pong",
        SatelliteMessage::Error(_) => "Error",
    }
}

impl SatelliteLink for TcpLink {
    fn apply(&self, desired: DesiredState) -> BoxFuture<Result<Observed, String>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            match inner.request(ControllerMessage::Apply(desired), None).await? {
                SatelliteMessage::Observed(observed) => Ok(observed),
                SatelliteMessage::Error(message) => Err(message),
                other => Err(format!("unexpected answer to an apply: {}", kind(&other))),
            }
        })
    }

    fn is_connected(&self) -> bool {
        self.inner.lock().closed.is_none()
    }
}

/// An established connection: its link and the tasks that move its bytes. Dropping it closes
/// the connection and fails whatever still waits on it.
pub struct Connection {
    pub link: Arc<TcpLink>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.link.close("the controller closed the connection");
        self.reader.abort();
        self.writer.abort();
    }
}

/// Connects to the satellite of `node_name` at `addr` and makes the handshake.
pub async fn connect(
    addr: SocketAddr,
    node_name: &str,
    controller_id: &str,
) -> Result<Connection, ConnectError> {
    let unreachable = |why: String| ConnectError::Unreachable(format!("{addr}: {why}"));
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(unreachable(err.to_string())),
        Err(_) => return Err(unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
    };
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let hello = ToSatellite {
        id: 0,
        msg: ControllerMessage::Hello {
            controller_id: controller_id.to_string(),
            protocol_version: PROTOCOL_VERSION,
            node_name: node_name.to_string(),
        },
    };
    let handshake = async {
        frame::write_message(&mut write, &hello).await?;
        frame::read_message::<ToController, _>(&mut read).await
    };
    let answer = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Err(_) => return Err(unreachable(format!("no handshake within {} s", HANDSHAKE_TIMEOUT.as_secs()))),
        Ok(Err(FrameError::Io(err))) => return Err(unreachable(err.to_string())),
        Ok(Err(err)) => return Err(ConnectError::Protocol(err.to_string())),
        Ok(Ok(None)) => return Err(unreachable("the satellite closed the connection".into())),
        Ok(Ok(Some(answer))) => answer.msg,
    };
    match answer {
        SatelliteMessage::Welcome { protocol_version, .. } if protocol_version != PROTOCOL_VERSION => {
            return Err(ConnectError::VersionMismatch(protocol_version));
        }
        SatelliteMessage::Welcome { node_name: served, .. } if !served.eq_ignore_ascii_case(node_name) => {
            return Err(ConnectError::WrongNode(served));
        }
        SatelliteMessage::Welcome { .. } => {}
        SatelliteMessage::Busy { controller_id } => return Err(ConnectError::OtherController(controller_id)),
        SatelliteMessage::WrongNode { node_name } => return Err(ConnectError::WrongNode(node_name)),
        SatelliteMessage::VersionMismatch { protocol_version } => {
            return Err(ConnectError::VersionMismatch(protocol_version));
        }
        SatelliteMessage::Error(message) => return Err(ConnectError::Protocol(message)),
        other => return Err(ConnectError::Protocol(format!("{} instead of Welcome", kind(&other)))),
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let (closed, _) = watch::channel(false);
    let link = Arc::new(TcpLink {
        inner: Arc::new(Inner {
            node_name: node_name.to_string(),
            pending: Mutex::new(Pending { closed: None, waiting: HashMap::new() }),
            next_id: AtomicU64::new(1),
            outgoing: tx,
            closed,
        }),
    });
    let reader = {
        let inner = Arc::clone(&link.inner);
        tokio::spawn(async move {
            let reason = loop {
                match frame::read_message::<ToController, _>(&mut read).await {
                    Ok(Some(reply)) => inner.answer(reply),
                    Ok(None) => break "the satellite closed the connection".to_string(),
                    Err(err) => break err.to_string(),
                }
            };
            inner.close(reason);
        })
    };
    let writer = {
        let inner = Arc::clone(&link.inner);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Some(bytes) = rx.recv().await {
                if let Err(err) = write.write_all(&bytes).await {
                    inner.close(format!("cannot send: {err}"));
                    return;
                }
            }
            let _ = write.shutdown().await;
        })
    };
    Ok(Connection { link, reader, writer })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// What the fake satellite does after the handshake.
    #[derive(Clone, Copy)]
    enum Behaviour {
        /// Answers pings and applies.
        Serve,
        /// Reads and never answers.
        Mute,
        /// Closes the connection after the first request.
        Hangup,
    }

    /// A one-connection satellite stand-in answering the handshake with `welcome`.
    async fn fake(welcome: SatelliteMessage, behaviour: Behaviour) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut read, mut write) = stream.into_split();
            let hello: ToSatellite = frame::read_message(&mut read).await.unwrap().unwrap();
            assert!(matches!(hello.msg, ControllerMessage::Hello { .. }));
            frame::write_message(&mut write, &ToController { id: hello.id, msg: welcome }).await.unwrap();
            while let Ok(Some(request)) = frame::read_message::<ToSatellite, _>(&mut read).await {
                let msg = match (behaviour, request.msg) {
                    (Behaviour::Hangup, _) => return,
                    (Behaviour::Mute, _) => continue,
                    (Behaviour::Serve, ControllerMessage::Ping) => SatelliteMessage::Pong,
                    (Behaviour::Serve, ControllerMessage::Apply(d)) => SatelliteMessage::Observed(Observed {
                        node_name: d.node_name,
                        generation: d.generation,
                        ..Default::default()
                    }),
                    (Behaviour::Serve, ControllerMessage::Hello { .. }) => {
                        SatelliteMessage::Error("twice".into())
                    }
                };
                let reply = ToController { id: request.id, msg };
                if frame::write_message(&mut write, &reply).await.is_err() {
                    return;
                }
            }
        });
        addr
    }

    fn welcome(node: &str) -> SatelliteMessage {
        SatelliteMessage::Welcome { node_name: node.into(), protocol_version: PROTOCOL_VERSION }
    }

    fn desired(generation: u64) -> DesiredState {
        DesiredState { node_name: "n1".into(), generation, ..Default::default() }
    }

    #[tokio::test]
    async fn applies_and_pings_are_answered() {
        let addr = fake(welcome("N1"), Behaviour::Serve).await;
        let connection = connect(addr, "n1", "c").await.unwrap();
        assert!(connection.link.is_connected());
        connection.link.ping(Duration::from_secs(3)).await.unwrap();
        let observed = connection.link.apply(desired(7)).await.unwrap();
        assert_eq!(observed.generation, 7);
        drop(connection);
    }

    #[tokio::test]
    async fn refusals_are_told_apart() {
        let cases = [
            (SatelliteMessage::Busy { controller_id: "other".into() }, "OTHER_CONTROLLER"),
            (SatelliteMessage::WrongNode { node_name: "n2".into() }, "HOSTNAME_MISMATCH"),
            (welcome("n2"), "HOSTNAME_MISMATCH"),
            (SatelliteMessage::VersionMismatch { protocol_version: 99 }, "VERSION_MISMATCH"),
            (SatelliteMessage::Welcome { node_name: "n1".into(), protocol_version: 99 }, "VERSION_MISMATCH"),
            (SatelliteMessage::Pong, "OFFLINE"),
        ];
        for (answer, status) in cases {
            let addr = fake(answer.clone(), Behaviour::Serve).await;
            let err = connect(addr, "n1", "c").await.err().unwrap();
            assert_eq!(err.status(), status, "{answer:?}: {err}");
        }
        // Nothing listening.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert!(matches!(connect(addr, "n1", "c").await, Err(ConnectError::Unreachable(_))));
    }

    #[tokio::test]
    async fn a_dropped_connection_fails_waiting_requests_at_once() {
        let addr = fake(welcome("n1"), Behaviour::Hangup).await;
        let connection = connect(addr, "n1", "c").await.unwrap();
        let started = std::time::Instant::now();
        let err = connection.link.apply(desired(1)).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(err.contains("no connection to satellite 'n1'"), "{err}");
        assert!(!connection.link.is_connected());
        // Later requests fail without waiting.
        assert!(connection.link.ping(Duration::from_secs(3)).await.is_err());
        tokio::time::timeout(Duration::from_secs(1), connection.link.wait_closed()).await.unwrap();
    }

    #[tokio::test]
    async fn a_mute_satellite_times_pings_out_and_closing_frees_applies() {
        let addr = fake(welcome("n1"), Behaviour::Mute).await;
        let connection = connect(addr, "n1", "c").await.unwrap();
        let err = connection.link.ping(Duration::from_millis(200)).await.unwrap_err();
        assert!(err.contains("did not answer within 200 ms"), "{err}");
        // An apply waits for its answer ... until the owner gives the connection up.
        let apply = connection.link.apply(desired(2));
        let link = Arc::clone(&connection.link);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            link.close("ping timeout");
        });
        let err = tokio::time::timeout(Duration::from_secs(2), apply).await.unwrap().unwrap_err();
        assert!(err.contains("ping timeout"), "{err}");
    }
}
