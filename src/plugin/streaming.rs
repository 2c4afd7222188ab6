//! Streaming (VMC over OSC, `crate::stream`): [`CmanetVmcSender`] sends every new pose the avatars
//! show to a VMC receiver (a VTuber app, a Unity or Unreal receiver, another cmanet app);
//! [`CmanetVmcReceiver`] drives this app's avatars from any VMC sender instead of the estimates.
//! Both are resources with `Reflect` knobs, off by default; [`VmcStatus`] says what they did.
//! Sockets never block the frame: target names are resolved off the main thread, sends and reads
//! are non-blocking, a read stops after [`MAX_PACKETS_PER_FRAME`] datagrams, and problems (an
//! unreachable target, a port in use, a malformed packet) are [`CmanetWarning::Streaming`]
//! warnings, each distinct problem once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Mutex, mpsc};

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;

use super::inference::CmanetBodyModel;
use super::messages::{CmanetWarning, warn};
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::body::RestJoints;
use crate::stream::{FrameSettings, StreamError, VMC_DEFAULT_PORT, VmcBones, VmcFrame, VmcReceiver, VmcSender};

/// The most datagrams the receiver reads in one app frame.
pub const MAX_PACKETS_PER_FRAME: usize = 256;

/// Sends the pose the avatars show (smoothed or raw, as [`CmanetSettings::smoothing`] says) as
/// VMC, one OSC bundle per new estimate.
#[derive(Resource, Reflect, Clone, Debug, PartialEq)]
#[reflect(Resource)]
pub struct CmanetVmcSender {
    /// Whether poses are sent. Default: false.
    pub enabled: bool,
    /// Where to, `host:port`. Default: `127.0.0.1:39539` (a receiver on this machine, VMC's port).
    pub target: String,
    /// At most this many bundles a second (a newer estimate waits for the next slot); 0 sends
    /// every new estimate. Default: 60.
    pub max_rate_hz: f32,
    /// Send only the upper body (hips rotation, spine, neck, head, arms, hands). Default: false.
    pub upper_body_only: bool,
    /// Send the hips where the estimate puts them; false stands them at the origin. Default: true.
    pub root_motion: bool,
}

impl Default for CmanetVmcSender {
    fn default() -> Self {
        Self {
            enabled: false,
            target: format!("127.0.0.1:{VMC_DEFAULT_PORT}"),
            max_rate_hz: 60.0,
            upper_body_only: false,
            root_motion: true,
        }
    }
}

/// Drives the avatars from a VMC sender: every received frame replaces the pose in
/// [`CmanetPose`] (raw and smoothed alike). Switch estimation off
/// ([`CmanetSettings::enabled`]) in an app that only receives.
#[derive(Resource, Reflect, Clone, Debug, PartialEq)]
#[reflect(Resource)]
pub struct CmanetVmcReceiver {
    /// Whether to listen. Default: false.
    pub enabled: bool,
    /// The local address to listen on; port 0 picks a free one ([`VmcStatus::listening_on`]
    /// says which). Default: `0.0.0.0:39539` (every interface, VMC's port).
    pub listen: String,
    /// Give the avatars the shape whose bone lengths are nearest the sender's (exact when the
    /// sender is cmanet); false keeps the mean shape. Default: true.
    pub shape_from_bones: bool,
}

impl Default for CmanetVmcReceiver {
    fn default() -> Self {
        Self { enabled: false, listen: format!("0.0.0.0:{VMC_DEFAULT_PORT}"), shape_from_bones: true }
    }
}

/// What the streaming ends are doing (read it, the panel shows it).
#[derive(Resource, Clone, Debug, Default, PartialEq)]
pub struct VmcStatus {
    /// Where bundles go, once the target is resolved.
    pub sending_to: Option<SocketAddr>,
    /// Bundles sent.
    pub sent: u64,
    /// Bundles (poses) sent over the last second.
    pub sent_per_second: f32,
    /// OSC messages sent over the last second (a bundle holds one per bone, plus the root, `OK`
    /// and `T`).
    pub messages_per_second: f32,
    /// Where the receiver listens, once bound.
    pub listening_on: Option<SocketAddr>,
    /// Frames received and shown.
    pub received: u64,
    /// Frames received over the last second.
    pub received_per_second: f32,
    /// Incoming packets that could not be used.
    pub malformed: u64,
    /// The newest problem, if any.
    pub problem: Option<String>,
}

/// A sender being made off the main thread (its target's name resolving).
type Resolving = Mutex<mpsc::Receiver<Result<VmcSender, StreamError>>>;

/// Sockets and bookkeeping.
#[derive(Resource, Default)]
pub(crate) struct VmcLinks {
    sender: Option<(String, VmcSender)>,
    resolving: Option<(String, Resolving)>,
    failed_target: Option<String>,
    receiver: Option<(String, VmcReceiver)>,
    failed_listen: Option<String>,
    rest: Option<RestJoints>,
    seen: u64,
    last_sent: Option<f64>,
    /// Time and OSC message count of every bundle sent over the last second.
    sent_times: std::collections::VecDeque<(f64, usize)>,
    received_times: std::collections::VecDeque<f64>,
    warned: HashSet<String>,
}

impl VmcLinks {
    fn rest(&mut self, body: Option<&CmanetBodyModel>) -> Option<&RestJoints> {
        if self.rest.is_none() {
            self.rest = body.map(|b| RestJoints::new(&b.0));
        }
        self.rest.as_ref()
    }

    /// Warns once per distinct problem (and records it in the status).
    fn problem(&mut self, commands: &mut Commands, status: &mut VmcStatus, message: String) {
        status.problem = Some(message.clone());
        if self.warned.len() < 64 && self.warned.insert(message.clone()) {
            warn(commands, CmanetWarning::Streaming { message });
        }
    }
}

/// Drops what is more than a second old; returns how many are left.
fn last_second<T>(times: &mut std::collections::VecDeque<T>, now: f64, time: impl Fn(&T) -> f64) -> f32 {
    while times.front().is_some_and(|t| time(t) < now - 1.0) {
        times.pop_front();
    }
    times.len() as f32
}

/// Sends every new pose while [`CmanetVmcSender::enabled`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn send_poses(
    mut commands: Commands,
    config: Res<CmanetVmcSender>,
    settings: Res<CmanetSettings>,
    pose: Res<CmanetPose>,
    body: Option<Res<CmanetBodyModel>>,
    time: Res<Time>,
    mut links: ResMut<VmcLinks>,
    mut status: ResMut<VmcStatus>,
) {
    let now = time.elapsed_secs_f64();
    status.sent_per_second = last_second(&mut links.sent_times, now, |(t, _)| *t);
    status.messages_per_second = links.sent_times.iter().map(|(_, m)| *m as f32).sum();
    if !config.enabled {
        links.sender = None;
        links.resolving = None;
        links.failed_target = None; // switching off and on tries again
        status.sending_to = None;
        return;
    }
    if !connect(&mut commands, &config.target, &mut links, &mut status) || pose.estimates == links.seen {
        return;
    }
    if config.max_rate_hz > 0.0 && links.last_sent.is_some_and(|t| now - t < 1.0 / config.max_rate_hz as f64) {
        return;
    }
    let Some(params) = pose.current(&settings).filter(|p| p.is_finite()).cloned() else { return };
    let Some(rest) = links.rest(body.as_deref()) else { return };
    let frame_settings = FrameSettings {
        bones: if config.upper_body_only { VmcBones::UpperBody } else { VmcBones::All },
        root_motion: config.root_motion,
    };
    let frame = VmcFrame::from_params(&params, rest, pose.time as f32, &frame_settings);
    let messages = frame.bones.len() + 3; // root, bones, OK, T
    links.seen = pose.estimates;
    links.last_sent = Some(now);
    let Some(result) = links.sender.as_ref().map(|(_, sender)| sender.send(&frame)) else { return };
    match result {
        Ok(_) => {
            status.sent += 1;
            links.sent_times.push_back((now, messages));
        }
        Err(e) => links.problem(&mut commands, &mut status, e.to_string()),
    }
}

/// Makes sure a sender to `target` exists, resolving names off the main thread; true once it
/// does.
fn connect(commands: &mut Commands, target: &str, links: &mut VmcLinks, status: &mut VmcStatus) -> bool {
    if links.sender.as_ref().is_some_and(|(t, _)| t == target) {
        return true;
    }
    links.sender = None;
    status.sending_to = None;
    if let Some((asked, done)) = links.resolving.as_ref()
        && asked == target
    {
        let answer = match done.lock() {
            Ok(done) => done.try_recv(),
            Err(_) => Err(mpsc::TryRecvError::Disconnected),
        };
        match answer {
            Ok(Ok(sender)) => {
                status.sending_to = Some(sender.target());
                links.sender = Some((target.to_string(), sender));
                links.resolving = None;
                return true;
            }
            Ok(Err(e)) => {
                links.resolving = None;
                links.failed_target = Some(target.to_string());
                links.problem(commands, status, e.to_string());
            }
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => links.resolving = None,
        }
        return false;
    }
    if links.failed_target.as_deref() == Some(target) {
        return false; // told once; a new target is tried again
    }
    let (tell, done) = mpsc::channel();
    let owned = target.to_string();
    std::thread::spawn(move || {
        // The app may be gone by the time the name resolves; nobody to tell then.
        let _ = tell.send(VmcSender::new(&owned));
    });
    links.resolving = Some((target.to_string(), Mutex::new(done)));
    false
}

/// Reads what arrived while [`CmanetVmcReceiver::enabled`] and shows the newest frame.
#[allow(clippy::too_many_arguments)]
pub(crate) fn receive_poses(
    mut commands: Commands,
    config: Res<CmanetVmcReceiver>,
    body: Option<Res<CmanetBodyModel>>,
    time: Res<Time>,
    frame_count: Res<FrameCount>,
    mut links: ResMut<VmcLinks>,
    mut status: ResMut<VmcStatus>,
    mut pose: ResMut<CmanetPose>,
) {
    let now = time.elapsed_secs_f64();
    status.received_per_second = last_second(&mut links.received_times, now, |t| *t);
    if !config.enabled {
        links.receiver = None;
        links.failed_listen = None; // switching off and on tries again
        status.listening_on = None;
        return;
    }
    if links.receiver.as_ref().is_none_or(|(l, _)| *l != config.listen) {
        links.receiver = None;
        status.listening_on = None;
        if links.failed_listen.as_deref() == Some(config.listen.as_str()) {
            return;
        }
        match VmcReceiver::bind(&config.listen) {
            Ok(receiver) => {
                status.listening_on = receiver.local_addr();
                links.receiver = Some((config.listen.clone(), receiver));
                links.failed_listen = None;
            }
            Err(e) => {
                links.failed_listen = Some(config.listen.clone());
                links.problem(&mut commands, &mut status, e.to_string());
                return;
            }
        }
    }
    let Some((_, receiver)) = links.receiver.as_mut() else { return };
    let received = receiver.poll(MAX_PACKETS_PER_FRAME);
    for error in received.errors {
        if matches!(error, StreamError::Malformed { .. }) {
            status.malformed += 1;
        }
        links.problem(&mut commands, &mut status, error.to_string());
    }
    let Some(frame) = received.frame else { return };
    let Some(rest) = links.rest(body.as_deref()) else { return };
    let params = frame.to_params(rest, config.shape_from_bones);
    if !params.is_finite() {
        return;
    }
    pose.raw = Some(params.clone());
    pose.smoothed = Some(params);
    pose.frame = frame_count.0;
    pose.time = now;
    pose.estimates += 1;
    status.received += 1;
    links.received_times.push_back(now);
}
