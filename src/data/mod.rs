//! Data: the `cmanet-mv2d` / `cmanet-mv3d` formats, the synthetic multi-view generator and real-sample
//! loaders.

pub mod synth;
