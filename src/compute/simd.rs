//! Which SIMD kernels the CPU kernels ([`super::matmul`], the BlazePose depthwise convolution)
//! run, chosen at run time: AVX-512 where the CPU has it, else AVX2 with FMA, else portable code.
//! `CMANET_SIMD=avx2` (or `portable`) caps the choice, to compare kernels on one machine.

use std::sync::OnceLock;

/// A family of SIMD kernels, from the plainest to the widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Plain Rust, any CPU.
    Portable,
    /// x86-64 AVX2 and FMA: 8 floats a register.
    Avx2,
    /// x86-64 AVX-512 (F): 16 floats a register, 32 registers.
    Avx512,
}

impl SimdLevel {
    /// Every level, plainest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The widest level this CPU runs.
    pub fn detected() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
            if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
                return SimdLevel::Avx512;
            }
            if avx2 {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Portable
    }

    /// The level the kernels use: [`SimdLevel::detected`], capped by the environment variable
    /// `CMANET_SIMD` (`avx512`, `avx2` or `portable`; anything else is ignored). Read once.
    pub fn active() -> Self {
        static ACTIVE: OnceLock<SimdLevel> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let cap = std::env::var("CMANET_SIMD").ok().and_then(|v| SimdLevel::from_name(&v));
            Self::detected().min(cap.unwrap_or(SimdLevel::Avx512))
        })
    }

    /// Whether this CPU runs this level's kernels.
    pub fn supported(self) -> bool {
        self <= Self::detected()
    }

    /// The level's name, as `CMANET_SIMD` takes it.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The level named `name` (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_active_level_is_supported() {
        for level in SimdLevel::ALL {
            assert_eq!(SimdLevel::from_name(level.name()), Some(level));
        }
        assert_eq!(SimdLevel::from_name(" AVX2 "), Some(SimdLevel::Avx2));
        assert_eq!(SimdLevel::from_name("sse"), None);
        assert!(SimdLevel::Portable.supported());
        assert!(SimdLevel::active().supported());
    }
}
