//! Our axes to Unity's, as VMC carries positions and rotations. Ours (Bevy's, glTF's and the body
//! frame's): right-handed, +y up, the body facing +z with its left at +x. Unity's: left-handed,
//! +y up, a humanoid facing +z with its right at +x. The change of basis mirrors x:
//! `M = diag(-1, 1, 1)`, a point `(x, y, z)` is `(-x, y, z)` in Unity and a rotation `R` is
//! `M R M`, whose quaternion `(x, y, z, w)` is `(x, -y, -z, w)` (UniVRM's conversion for glTF
//! models facing +z). `M` is its own inverse, so the same functions convert back.

use nalgebra::{Quaternion, UnitQuaternion, Vector3};

/// A point or offset in our axes, in Unity's (and back: the conversion is its own inverse).
pub fn to_unity_position(p: &Vector3<f32>) -> Vector3<f32> {
    Vector3::new(-p.x, p.y, p.z)
}

/// A rotation in our axes, in Unity's (and back).
pub fn to_unity_rotation(q: &UnitQuaternion<f32>) -> UnitQuaternion<f32> {
    UnitQuaternion::new_unchecked(Quaternion::new(q.w, q.i, -q.j, -q.k))
}

/// A point from Unity's axes into ours.
pub fn from_unity_position(p: &Vector3<f32>) -> Vector3<f32> {
    to_unity_position(p)
}

/// A rotation from Unity's axes into ours.
pub fn from_unity_rotation(q: &UnitQuaternion<f32>) -> UnitQuaternion<f32> {
    to_unity_rotation(q)
}
