//! Streaming the pose over the VMC protocol (Virtual Motion Capture, <https://protocol.vmc.info>):
//! OSC messages over UDP that VTuber apps (VSeeFace, Warudo, VNyan, VMagicMirror), Unity and Unreal
//! receivers and Blender add-ons read. Plain Rust, no Bevy: the plugin's `CmanetVmcSender` /
//! `CmanetVmcReceiver` and `cmanet stream` are built on it.
//!
//! - `axes`: our axes (right-handed, +y up, the body facing +z) to Unity's (left-handed) and back.
//! - `bones`: which Unity `HumanBodyBones` plays each SMPL joint.
//! - `frame`: one pose as VMC carries it ([`VmcFrame`]), from and back to [`BodyParams`].
//! - `osc`: a frame as one OSC bundle, and incoming packets assembled into frames (the OSC
//!   encoding and decoding are the `rosc` crate's).
//! - `udp`: a non-blocking sender and receiver, and [`replay_take`].
//!
//! [`BodyParams`]: crate::body::BodyParams

pub(crate) mod axes;
pub(crate) mod bones;
pub(crate) mod frame;
pub(crate) mod osc;
pub(crate) mod udp;

pub use axes::{from_unity_position, from_unity_rotation, to_unity_position, to_unity_rotation};
pub use bones::{VMC_BONE_NAMES, VmcBones, joint_of_bone};
pub use frame::{FrameSettings, MAX_RECEIVED_BETA, VmcBone, VmcFrame, VmcTransform};
pub use osc::{BONE_ADDRESS, OK_ADDRESS, ROOT_ADDRESS, TIME_ADDRESS, VmcAssembler, encode_frame};
pub use udp::{Received, VmcReceiver, VmcSender, replay_take, resolve};

/// The port VMC receivers listen on unless told otherwise.
pub const VMC_DEFAULT_PORT: u16 = 39539;

/// What can go wrong streaming.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The target or listening address is not usable.
    #[error("VMC address `{address}`: {problem}")]
    Address {
        /// The address as given.
        address: String,
        /// What is wrong.
        problem: String,
    },
    /// A socket operation failed.
    #[error("VMC {action}: {source}")]
    Socket {
        /// What was being done (`send to 127.0.0.1:39539`, `listen on 0.0.0.0:39539`).
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An incoming packet is not OSC, or not the VMC messages it claims to be.
    #[error("VMC packet{}: {problem}", from.map(|f| format!(" from {f}")).unwrap_or_default())]
    Malformed {
        /// Who sent it, when known.
        from: Option<std::net::SocketAddr>,
        /// What is wrong.
        problem: String,
    },
    /// A frame could not be encoded (a number that is not finite).
    #[error("VMC frame: {0}")]
    Encode(String),
    /// The take to replay is not valid.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
}
