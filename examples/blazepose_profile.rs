//! Per-op profile of the BlazePose networks (`cmanet::detect`): runs each network on its first
//! fixture input and prints the ops that take the most time, grouped by op kind and listed one by
//! one with their shapes (`op067_conv_2d 1x1/1 1152->192 to 14x14`: kernel, stride, channels in
//! and out, output size). `PROFILE_OPS=N` lists N ops (default 12); `CMANET_SIMD=avx2` runs the
//! AVX2 kernels on an AVX-512 machine.
//!
//! `RAYON_NUM_THREADS=1 cargo run --release --no-default-features --example blazepose_profile [runs] [avatar]`

use std::collections::HashMap;
use std::path::PathBuf;

use cmanet::detect::Network;
use cmanet::tensor_file::TensorFile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let avatar = std::env::args().nth(2).is_some_and(|a| a == "avatar");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (name, detector) in [("detector", true), ("landmark_lite", false), ("landmark_full", false)] {
        let net = Network::load(&root.join(format!("assets/models/blazepose_{name}.safetensors")))?;
        // `avatar` as the second argument: the rendered person of tests/fixtures/blazepose_avatar
        // instead of random bytes (real images can run at another speed: denormal numbers).
        let (file, key) = if avatar {
            ("avatar", if detector { "detector.input" } else { "landmark.input" })
        } else {
            (name, "input0")
        };
        let fx = TensorFile::read_safetensors(&root.join(format!("tests/fixtures/blazepose_{file}.safetensors")))?;
        let raw = fx.required(key, &[Some(1), None, None, Some(3)])?;
        let x: Vec<f32> =
            raw.data.iter().map(|&b| if detector { b as f32 / 127.5 - 1.0 } else { b as f32 / 255.0 }).collect();
        net.run(&x)?;
        let mut times = Vec::new();
        let cpu0 = cpu_seconds();
        for _ in 0..runs {
            let start = std::time::Instant::now();
            net.run(&x)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let cpu = (cpu_seconds() - cpu0) / runs as f64 * 1e3;
        times.sort_by(f64::total_cmp);
        let (min, median) = (times[0], times[times.len() / 2]);
        let mut profile = HashMap::new();
        let start = std::time::Instant::now();
        for _ in 0..runs {
            net.run_profiled(&x, Some(&mut profile))?;
        }
        let total = start.elapsed().as_secs_f64() / runs as f64 * 1e3;
        println!(
            "{{\"model\": \"{name}\", \"runtime\": \"cmanet\", \"min_ms\": {min:.3}, \"median_ms\": {median:.3}, \"cpu_ms\": {cpu:.3}}}"
        );
        let mut kinds: HashMap<String, f64> = HashMap::new();
        for (op, t) in &profile {
            let name = op.split(' ').next().unwrap_or(op);
            let kind = name.split_once('_').map_or(name, |(_, k)| k).to_string();
            *kinds.entry(kind).or_default() += t / runs as f64 * 1e3;
        }
        let mut kinds: Vec<_> = kinds.into_iter().collect();
        kinds.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!("== {name}: {total:.2} ms per profiled run");
        for (k, t) in &kinds {
            println!("  {k:<20} {t:7.2} ms");
        }
        let mut ops: Vec<_> = profile.into_iter().collect();
        ops.sort_by(|a, b| b.1.total_cmp(&a.1));
        let listed = std::env::var("PROFILE_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
        for (op, t) in ops.iter().take(listed) {
            println!("    {op:<50} {:7.3} ms", t / runs as f64 * 1e3);
        }
    }
    Ok(())
}

/// CPU time (user + system) of this process so far, seconds (Linux `/proc/self/stat`; 0 elsewhere).
/// Unlike wall time it does not count the time the machine's other work held the core.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<f64>().ok()).sum();
    ticks / 100.0
}
