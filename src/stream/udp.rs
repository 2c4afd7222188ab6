//! The UDP ends of the stream: a [`VmcSender`] (one non-blocking socket, one target), a
//! [`VmcReceiver`] (a non-blocking socket read until empty, frames assembled) and
//! [`replay_take`], which plays a recorded take to a sender at its frame rate.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::StreamError;
use super::frame::{FrameSettings, VmcFrame};
use super::osc::{VmcAssembler, encode_frame};
use crate::body::RestJoints;
use crate::data::Take;

/// The largest datagram read (UDP's limit).
const MAX_DATAGRAM: usize = 65_536;

/// Resolves `host:port` (a literal address never blocks; a host name asks the resolver).
pub fn resolve(address: &str) -> Result<SocketAddr, StreamError> {
    let bad = |problem: String| StreamError::Address { address: address.into(), problem };
    if let Ok(parsed) = address.parse::<SocketAddr>() {
        return Ok(parsed);
    }
    address
        .to_socket_addrs()
        .map_err(|e| bad(format!("{e} (expected host:port, such as 127.0.0.1:39539)")))?
        .next()
        .ok_or_else(|| bad("the name has no address".into()))
}

/// Sends frames to one target.
#[derive(Debug)]
pub struct VmcSender {
    socket: UdpSocket,
    target: SocketAddr,
}

impl VmcSender {
    /// A sender to `target` (`host:port`) from an ephemeral local port.
    pub fn new(target: &str) -> Result<Self, StreamError> {
        let target = resolve(target)?;
        let local: SocketAddr =
            if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { "[::]:0".parse().unwrap_or(target) };
        let socket = UdpSocket::bind(local)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .map_err(|source| StreamError::Socket { action: format!("open a socket for {target}"), source })?;
        Ok(Self { socket, target })
    }

    /// Where frames go.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Sends one frame as one datagram; returns its size in bytes. A full send buffer is an error
    /// of kind `WouldBlock` (the frame is dropped, the next one goes).
    pub fn send(&self, frame: &VmcFrame) -> Result<usize, StreamError> {
        let bytes = encode_frame(frame)?;
        self.socket
            .send_to(&bytes, self.target)
            .map_err(|source| StreamError::Socket { action: format!("send to {}", self.target), source })
    }
}

/// Receives frames on one local address.
#[derive(Debug)]
pub struct VmcReceiver {
    socket: UdpSocket,
    assembler: VmcAssembler,
    buffer: Vec<u8>,
}

/// What one [`VmcReceiver::poll`] read.
#[derive(Debug, Default)]
pub struct Received {
    /// The newest frame, if any packet changed the pose.
    pub frame: Option<VmcFrame>,
    /// How many datagrams were read.
    pub packets: usize,
    /// The packets that could not be used (the others were still read).
    pub errors: Vec<StreamError>,
}

impl VmcReceiver {
    /// Listens on `address` (`0.0.0.0:39539` for every interface; port 0 picks a free one).
    pub fn bind(address: &str) -> Result<Self, StreamError> {
        let local = resolve(address)?;
        let socket = UdpSocket::bind(local)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .map_err(|source| StreamError::Socket { action: format!("listen on {local}"), source })?;
        Ok(Self { socket, assembler: VmcAssembler::default(), buffer: vec![0; MAX_DATAGRAM] })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    /// Reads what has arrived, at most `max_packets` datagrams (so a flood cannot stall the
    /// caller), without blocking.
    pub fn poll(&mut self, max_packets: usize) -> Received {
        let mut out = Received::default();
        while out.packets < max_packets {
            match self.socket.recv_from(&mut self.buffer) {
                Ok((n, from)) => {
                    out.packets += 1;
                    match self.assembler.push(&self.buffer[..n]) {
                        Ok(Some(frame)) => out.frame = Some(frame),
                        Ok(None) => {}
                        Err(StreamError::Malformed { problem, .. }) => {
                            out.errors.push(StreamError::Malformed { from: Some(from), problem })
                        }
                        Err(e) => out.errors.push(e),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // Linux reports an earlier send's ICMP error here on some sockets; not ours to mind.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(source) => {
                    out.errors.push(StreamError::Socket { action: "receive".into(), source });
                    break;
                }
            }
        }
        out
    }
}

/// Plays `take` to `sender` at its frame rate (resampled as the exporters do), the first frame at
/// once; with `looping` it starts over until `keep_going` says stop. `keep_going` is asked
/// before every frame with the number sent so far. Returns how many frames were sent. A frame
/// the socket could not take (`WouldBlock`) is skipped; any other socket error stops the replay.
pub fn replay_take(
    take: &Take,
    sender: &VmcSender,
    rest: &RestJoints,
    settings: &FrameSettings,
    looping: bool,
    mut keep_going: impl FnMut(usize) -> bool,
) -> Result<usize, StreamError> {
    take.validate()?;
    let frames: Vec<VmcFrame> = take
        .resampled()
        .iter()
        .enumerate()
        .map(|(i, params)| VmcFrame::from_params(params, rest, i as f32 / take.fps, settings))
        .collect();
    let period = Duration::from_secs_f64(1.0 / take.fps as f64);
    let start = Instant::now();
    let mut sent = 0usize;
    loop {
        for frame in &frames {
            if !keep_going(sent) {
                return Ok(sent);
            }
            let due = start + period.mul_f64(sent as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            match sender.send(frame) {
                Ok(_) => {}
                Err(StreamError::Socket { source, .. }) if source.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            sent += 1;
        }
        if !looping {
            return Ok(sent);
        }
    }
}
