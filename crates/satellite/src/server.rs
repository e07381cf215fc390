//! The satellite's network side: a TCP server speaking the controller's protocol
//! ([`controller::link`], framed by [`controller::link::frame`]).
//!
//! Rules:
//! - The controller speaks first (`Hello`); the satellite answers `Welcome`, or refuses with
//!   `VersionMismatch` (another protocol version), `WrongNode` (the controller asks for a node
//!   this satellite does not serve) or `Busy` (another controller holds it), and closes.
//! - One controller at a time. The same controller (same id) connecting again takes over: its
//!   old connection is dropped, since it is most likely dead and not yet noticed.
//! - A connection on which the controller sent nothing for [`IDLE_TIMEOUT`] is dropped (the
//!   controller pings every few seconds), which frees the satellite for the next one.
//! - Each apply runs on a blocking thread; pings are answered while it runs. Applies are
//!   serialized by the satellite itself.
//! - Nothing from the network can panic the satellite: a malformed frame ends the connection
//!   with an `Error` naming what was wrong.

use crate::Satellite;
use controller::link::frame::{self, FrameError};
use controller::link::{ControllerMessage, SatelliteMessage, ToController, ToSatellite, PROTOCOL_VERSION};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, Notify};

/// How long a connection may stay silent before the satellite drops it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a new connection may take to say `Hello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

struct Active {
    controller_id: String,
    connection: u64,
    kick: Arc<Notify>,
}

/// Serves one [`Satellite`] to one controller at a time.
pub struct Server {
    satellite: Arc<Satellite>,
    active: Mutex<Option<Active>>,
    next_connection: AtomicU64,
}

/// Binds a listening socket (with `SO_REUSEADDR`, so a restarted satellite gets its port back
/// at once).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(64)
}

impl Server {
    pub fn new(satellite: Arc<Satellite>) -> Arc<Server> {
        Arc::new(Server { satellite, active: Mutex::new(None), next_connection: AtomicU64::new(1) })
    }

    fn node_name(&self) -> &str {
        &self.satellite.config().node_name
    }

    /// The id of the controller currently served, if any.
    pub fn controller(&self) -> Option<String> {
        self.active.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|a| a.controller_id.clone())
    }

    /// Accepts connections until the listener fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                // Running out of file descriptors and the like pass; wait a little.
                Err(err) => {
                    tracing::warn!("cannot accept a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(Arc::clone(&self).connection(stream, peer));
        }
    }

    /// Makes the handshake; `Some` with the kick signal when this connection is now the
    /// controller's.
    async fn handshake(
        &self,
        read: &mut tokio::net::tcp::OwnedReadHalf,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
        peer: SocketAddr,
    ) -> Option<(u64, String, Arc<Notify>)> {
        let refuse = |msg: SatelliteMessage| ToController { id: 0, msg };
        let hello = match tokio::time::timeout(HELLO_TIMEOUT, frame::read_message::<ToSatellite, _>(read))
            .await
        {
            Ok(Ok(Some(hello))) => hello,
            Ok(Ok(None)) => return None,
            Ok(Err(err)) => {
                tracing::info!("connection from {peer}: {err}");
                let _ = frame::write_message(write, &refuse(SatelliteMessage::Error(err.to_string()))).await;
                return None;
            }
            Err(_) => {
                tracing::info!("connection from {peer} said nothing; closed");
                return None;
            }
        };
        let ControllerMessage::Hello { controller_id, protocol_version, node_name } = hello.msg else {
            let error = SatelliteMessage::Error("the first message must be Hello".into());
            let _ = frame::write_message(write, &refuse(error)).await;
            return None;
        };
        if protocol_version != PROTOCOL_VERSION {
            tracing::warn!(
                "controller {controller_id} at {peer} speaks protocol version {protocol_version}, \
                 this satellite {PROTOCOL_VERSION}; refused"
            );
            let answer = SatelliteMessage::VersionMismatch { protocol_version: PROTOCOL_VERSION };
            let _ = frame::write_message(write, &refuse(answer)).await;
            return None;
        }
        if !node_name.eq_ignore_ascii_case(self.node_name()) {
            tracing::warn!(
                "controller {controller_id} at {peer} asked for node '{node_name}', but this satellite \
                 serves node '{}'; refused",
                self.node_name()
            );
            let answer = SatelliteMessage::WrongNode { node_name: self.node_name().to_string() };
            let _ = frame::write_message(write, &refuse(answer)).await;
            return None;
        }
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let kick = Arc::new(Notify::new());
        let holder = {
            let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
            match active.as_ref() {
                Some(other) if other.controller_id != controller_id => Some(other.controller_id.clone()),
                other => {
                    if let Some(old) = other {
                        old.kick.notify_one();
                    }
                    *active = Some(Active {
                        controller_id: controller_id.clone(),
                        connection,
                        kick: Arc::clone(&kick),
                    });
                    None
                }
            }
        };
        if let Some(holder) = holder {
            tracing::warn!(
                "controller {controller_id} at {peer} refused: this satellite is connected to controller {holder}"
            );
            let busy = SatelliteMessage::Busy { controller_id: holder };
            let _ = frame::write_message(write, &refuse(busy)).await;
            return None;
        }
        let welcome = ToController {
            id: hello.id,
            msg: SatelliteMessage::Welcome {
                node_name: self.node_name().to_string(),
                protocol_version: PROTOCOL_VERSION,
            },
        };
        if let Err(err) = frame::write_message(write, &welcome).await {
            tracing::info!("controller {controller_id} at {peer} went away during the handshake: {err}");
            self.release(connection);
            return None;
        }
        Some((connection, controller_id, kick))
    }

    /// Frees the satellite if `connection` still holds it.
    fn release(&self, connection: u64) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active.as_ref().is_some_and(|a| a.connection == connection) {
            *active = None;
        }
    }

    async fn connection(self: Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let (mut read, mut write) = stream.into_split();
        let Some((connection, controller_id, kick)) = self.handshake(&mut read, &mut write, peer).await
        else {
            return;
        };
        tracing::info!("controller {controller_id} connected from {peer}");
        let (tx, mut rx) = mpsc::unbounded_channel::<ToController>();
        let mut writer = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                if let Err(err) = frame::write_message(&mut write, &message).await {
                    tracing::info!("cannot answer the controller: {err}");
                    break;
                }
            }
        });
        let reason = loop {
            let next = tokio::select! {
                next = tokio::time::timeout(IDLE_TIMEOUT, frame::read_message::<ToSatellite, _>(&mut read)) => next,
                _ = kick.notified() => break "the same controller connected again".to_string(),
            };
            let request = match next {
                Err(_) => break format!("nothing heard for {} s", IDLE_TIMEOUT.as_secs()),
                Ok(Ok(None)) => break "the controller closed the connection".to_string(),
                Ok(Err(FrameError::Io(err))) => break format!("connection error: {err}"),
                Ok(Err(err)) => {
                    let _ = tx.send(ToController { id: 0, msg: SatelliteMessage::Error(err.to_string()) });
                    break err.to_string();
                }
                Ok(Ok(Some(request))) => request,
            };
            let id = request.id;
            match request.msg {
                ControllerMessage::Ping => {
                    let _ = tx.send(ToController { id, msg: SatelliteMessage::Pong });
                }
                ControllerMessage::Apply(desired) => {
                    let satellite = Arc::clone(&self.satellite);
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let msg = if !desired.node_name.is_empty()
                            && !desired.node_name.eq_ignore_ascii_case(&satellite.config().node_name)
                        {
                            SatelliteMessage::Error(format!(
                                "the desired state is meant for node '{}', but this satellite serves node '{}'",
                                desired.node_name,
                                satellite.config().node_name
                            ))
                        } else {
                            match tokio::task::spawn_blocking(move || satellite.apply(&desired)).await {
                                Ok(observed) => SatelliteMessage::Observed(observed),
                                Err(err) => SatelliteMessage::Error(format!("the apply failed: {err}")),
                            }
                        };
                        let _ = tx.send(ToController { id, msg });
                    });
                }
                ControllerMessage::Hello { .. } => {
                    let error = SatelliteMessage::Error("already connected: Hello comes only once".into());
                    let _ = tx.send(ToController { id, msg: error });
                }
            }
        };
        self.release(connection);
        drop(tx);
        // The writer ends when the last answer in flight is sent; one still converging after a
        // second is not waited for (the socket closes with the writer).
        if tokio::time::timeout(Duration::from_secs(1), &mut writer).await.is_err() {
            writer.abort();
        }
        tracing::info!("controller {controller_id} at {peer} disconnected: {reason}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SatelliteConfig;
    use controller::link::DesiredState;
    use tokio::io::AsyncWriteExt;

    /// A server for node `n1` on a free local port.
    async fn server(tag: &str) -> (SocketAddr, Arc<Server>) {
        let dev_dir = std::env::temp_dir().join(format!("strand-server-test-{tag}-{}", std::process::id()));
        let satellite = Satellite::new(SatelliteConfig::new("n1").with_dev_dir(dev_dir)).unwrap();
        let server = Server::new(Arc::new(satellite));
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(Arc::clone(&server).serve(listener));
        (addr, server)
    }

    struct Peer {
        stream: TcpStream,
    }

    impl Peer {
        async fn connect(addr: SocketAddr) -> Peer {
            Peer { stream: TcpStream::connect(addr).await.unwrap() }
        }

        async fn send(&mut self, id: u64, msg: ControllerMessage) {
            frame::write_message(&mut self.stream, &ToSatellite { id, msg }).await.unwrap();
        }

        async fn recv(&mut self) -> Option<ToController> {
            tokio::time::timeout(Duration::from_secs(5), frame::read_message(&mut self.stream))
                .await
                .expect("an answer in time")
                .unwrap_or(None)
        }

        async fn hello(
            addr: SocketAddr,
            controller: &str,
            node: &str,
            version: u32,
        ) -> (Peer, SatelliteMessage) {
            let mut peer = Peer::connect(addr).await;
            let msg = ControllerMessage::Hello {
                controller_id: controller.into(),
                protocol_version: version,
                node_name: node.into(),
            };
            peer.send(0, msg).await;
            let answer = peer.recv().await.expect("a handshake answer").msg;
            (peer, answer)
        }
    }

    #[tokio::test]
    async fn serves_pings_and_applies() {
        let (addr, server) = server("serve").await;
        let (mut peer, answer) = Peer::hello(addr, "c1", "N1", PROTOCOL_VERSION).await;
        assert_eq!(
            answer,
            SatelliteMessage::Welcome { node_name: "n1".into(), protocol_version: PROTOCOL_VERSION }
        );
        assert_eq!(server.controller().as_deref(), Some("c1"));
        peer.send(5, ControllerMessage::Ping).await;
        assert_eq!(peer.recv().await, Some(ToController { id: 5, msg: SatelliteMessage::Pong }));
        let desired = DesiredState { node_name: "n1".into(), generation: 9, ..Default::default() };
        peer.send(6, ControllerMessage::Apply(desired)).await;
        let answer = peer.recv().await.unwrap();
        assert_eq!(answer.id, 6);
        let SatelliteMessage::Observed(observed) = answer.msg else { panic!("{answer:?}") };
        assert_eq!((observed.node_name.as_str(), observed.generation), ("n1", 9));
        // A desired state for another node is refused, clearly.
        let other = DesiredState { node_name: "n2".into(), ..Default::default() };
        peer.send(7, ControllerMessage::Apply(other)).await;
        let answer = peer.recv().await.unwrap();
        assert!(
            matches!(&answer.msg, SatelliteMessage::Error(e) if e.contains("meant for node 'n2'") && e.contains("serves node 'n1'")),
            "{answer:?}"
        );
        // Hello twice is an error, not a reset.
        peer.send(
            8,
            ControllerMessage::Hello {
                controller_id: "c1".into(),
                protocol_version: 1,
                node_name: "n1".into(),
            },
        )
        .await;
        assert!(matches!(peer.recv().await.unwrap().msg, SatelliteMessage::Error(_)));
        peer.send(9, ControllerMessage::Ping).await;
        assert_eq!(peer.recv().await.unwrap().msg, SatelliteMessage::Pong);
    }

    #[tokio::test]
    async fn refuses_wrong_node_and_version() {
        let (addr, server) = server("refuse").await;
        let (mut peer, answer) = Peer::hello(addr, "c1", "n2", PROTOCOL_VERSION).await;
        assert_eq!(answer, SatelliteMessage::WrongNode { node_name: "n1".into() });
        assert_eq!(peer.recv().await, None, "closed after refusing");
        let (_, answer) = Peer::hello(addr, "c1", "n1", PROTOCOL_VERSION + 1).await;
        assert_eq!(answer, SatelliteMessage::VersionMismatch { protocol_version: PROTOCOL_VERSION });
        assert_eq!(server.controller(), None);
    }

    #[tokio::test]
    async fn one_controller_at_a_time() {
        let (addr, server) = server("busy").await;
        let (mut first, answer) = Peer::hello(addr, "c1", "n1", PROTOCOL_VERSION).await;
        assert!(matches!(answer, SatelliteMessage::Welcome { .. }));
        let (mut second, answer) = Peer::hello(addr, "c2", "n1", PROTOCOL_VERSION).await;
        assert_eq!(answer, SatelliteMessage::Busy { controller_id: "c1".into() });
        assert_eq!(second.recv().await, None);
        // The first one is still served.
        first.send(1, ControllerMessage::Ping).await;
        assert_eq!(first.recv().await.unwrap().msg, SatelliteMessage::Pong);
        // The same controller connecting again takes over; its old connection is closed.
        let (mut again, answer) = Peer::hello(addr, "c1", "n1", PROTOCOL_VERSION).await;
        assert!(matches!(answer, SatelliteMessage::Welcome { .. }));
        assert_eq!(first.recv().await, None, "the old connection is dropped");
        again.send(2, ControllerMessage::Ping).await;
        assert_eq!(again.recv().await.unwrap().msg, SatelliteMessage::Pong);
        // Once it goes, another controller may come.
        drop(again);
        let started = std::time::Instant::now();
        loop {
            let (_, answer) = Peer::hello(addr, "c2", "n1", PROTOCOL_VERSION).await;
            if matches!(answer, SatelliteMessage::Welcome { .. }) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{answer:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(server.controller().as_deref(), Some("c2"));
    }

    #[tokio::test]
    async fn garbage_is_answered_and_closed() {
        let (addr, server) = server("garbage").await;
        // Not JSON.
        let mut peer = Peer::connect(addr).await;
        peer.stream.write_all(&[0, 0, 0, 3, b'x', b'y', b'z']).await.unwrap();
        let answer = peer.recv().await.unwrap();
        assert!(matches!(answer.msg, SatelliteMessage::Error(e) if e.contains("not valid")));
        assert_eq!(peer.recv().await, None);
        // An absurd length: refused without waiting for 4 GiB.
        let mut peer = Peer::connect(addr).await;
        peer.stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let answer = peer.recv().await.unwrap();
        assert!(matches!(answer.msg, SatelliteMessage::Error(e) if e.contains("more than")));
        // Not a Hello first.
        let mut peer = Peer::connect(addr).await;
        peer.send(1, ControllerMessage::Ping).await;
        assert!(matches!(peer.recv().await.unwrap().msg, SatelliteMessage::Error(e) if e.contains("Hello")));
        // Garbage after the handshake ends that connection and frees the satellite.
        let (mut peer, _) = Peer::hello(addr, "c1", "n1", PROTOCOL_VERSION).await;
        peer.stream.write_all(&[0, 0, 0, 2, b'{', b'[']).await.unwrap();
        assert!(matches!(peer.recv().await.unwrap().msg, SatelliteMessage::Error(_)));
        assert_eq!(peer.recv().await, None);
        assert_eq!(server.controller(), None);
    }
}
