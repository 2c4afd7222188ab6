//! The egui panel (feature `egui`): every view's image with its 2D keypoints drawn over it and its
//! confidence, each played view's time offset (image sequences and video files, to line up cameras
//! that were not started together), the latest warnings, a plot of latency and estimate rate, the
//! smoothing knobs, and toggles for gizmos and for holding the estimated rig still, the take
//! recorder, and VMC streaming out and in. Add [`CmanetPanelPlugin`] after `EguiPlugin`.

use std::collections::{HashMap, VecDeque};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::capture::ImageSequence;
use super::inference::ViewStatus;
use super::messages::{CmanetWarning, MissingBones, PoseEstimated, ViewFailed};
use super::recording::TakeRecorder;
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use super::streaming::{CmanetVmcReceiver, CmanetVmcSender, VmcStatus};
use crate::body::NUM_KEYPOINTS;
use crate::detect::COCO_EDGES;

/// How many estimates the latency plot keeps.
const HISTORY: usize = 300;

/// Adds the cmanet panel (needs `bevy_egui::EguiPlugin`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CmanetPanelPlugin;

impl Plugin for CmanetPanelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<PanelState>()
            .add_systems(Update, record_timing.after(super::CmanetSystems::Inference))
            .add_observer(|w: On<CmanetWarning>, mut state: ResMut<PanelState>| state.tell(w.event().to_string()))
            .add_observer(|w: On<ViewFailed>, mut state: ResMut<PanelState>| state.tell(w.event().to_string()))
            .add_observer(|w: On<MissingBones>, mut state: ResMut<PanelState>| state.tell(w.event().to_string()))
            .add_systems(EguiPrimaryContextPass, draw_panel);
    }
}

/// What the panel remembers between frames.
#[derive(Resource, Default)]
pub struct PanelState {
    /// Whether the panel is hidden. Default: false.
    pub hidden: bool,
    textures: HashMap<Entity, (u32, egui::TextureHandle)>,
    /// (capture time s, latency ms) of the latest estimates.
    history: VecDeque<(f64, f32)>,
    /// What the last save of a take did.
    saved: Option<String>,
    /// The latest warnings, oldest first (at most [`WARNINGS_SHOWN`]).
    warnings: VecDeque<String>,
}

/// How many of the latest warnings the panel shows.
const WARNINGS_SHOWN: usize = 5;

impl PanelState {
    /// Keeps a warning to show (the oldest goes when there are too many).
    fn tell(&mut self, warning: String) {
        self.warnings.push_back(warning);
        while self.warnings.len() > WARNINGS_SHOWN {
            self.warnings.pop_front();
        }
    }

    /// The latest warnings the plugin gave, oldest first.
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.warnings.iter().map(String::as_str)
    }

    /// Estimates per second over the kept history.
    pub fn rate(&self) -> f64 {
        match (self.history.front(), self.history.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => (self.history.len() - 1) as f64 / (b.0 - a.0),
            _ => 0.0,
        }
    }
}

fn record_timing(mut estimates: MessageReader<PoseEstimated>, mut state: ResMut<PanelState>) {
    for e in estimates.read() {
        state.history.push_back((e.time, e.timing.latency.as_secs_f32() * 1000.0));
        while state.history.len() > HISTORY {
            state.history.pop_front();
        }
    }
}

#[allow(clippy::too_many_arguments)] // a Bevy system's parameters
fn draw_panel(
    mut contexts: EguiContexts,
    mut state: ResMut<PanelState>,
    mut settings: ResMut<CmanetSettings>,
    mut recorder: ResMut<TakeRecorder>,
    mut streaming: (ResMut<CmanetVmcSender>, ResMut<CmanetVmcReceiver>, Res<VmcStatus>),
    views: Query<(Entity, &ViewStatus)>,
    pose: Res<CmanetPose>,
    mut offsets: TimeOffsets,
) -> Result {
    if state.hidden {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut views: Vec<(Entity, &ViewStatus)> = views.iter().collect();
    views.sort_by_key(|(e, _)| *e);
    // Upload new previews.
    for (entity, status) in &views {
        let Some(preview) = &status.preview else { continue };
        let fresh = state.textures.get(entity).is_none_or(|(frame, _)| *frame != status.frame);
        if fresh {
            let image = egui::ColorImage::from_rgba_unmultiplied(
                [preview.width as usize, preview.height as usize],
                &preview.rgba,
            );
            match state.textures.get_mut(entity) {
                Some((frame, texture)) => {
                    texture.set(image, egui::TextureOptions::LINEAR);
                    *frame = status.frame;
                }
                None => {
                    let texture =
                        ctx.load_texture(format!("cmanet-view-{entity}"), image, egui::TextureOptions::LINEAR);
                    state.textures.insert(*entity, (status.frame, texture));
                }
            }
        }
    }
    let rate = state.rate();
    egui::Window::new("cmanet").default_width(360.0).show(ctx, |ui| {
        ui.horizontal_wrapped(|ui| {
            for (entity, status) in &views {
                ui.vertical(|ui| {
                    view_image(ui, state.textures.get(entity).map(|(_, t)| t), status);
                    let text = match &status.error {
                        Some(e) => format!("{entity}: {e}"),
                        None if status.keypoints2d.is_none() => match &status.nobody {
                            Some(reason) => format!("{entity}: nobody found: {reason}"),
                            None => format!("{entity}: nobody found"),
                        },
                        None if status.mirrored => {
                            format!("{entity}: confidence {:.2}, left/right repaired", status.confidence)
                        }
                        None => format!("{entity}: confidence {:.2}", status.confidence),
                    };
                    ui.small(text);
                });
            }
        });
        offsets.controls(ui);
        if !state.warnings.is_empty() {
            ui.separator();
            for warning in &state.warnings {
                ui.colored_label(egui::Color32::from_rgb(230, 160, 40), warning);
            }
        }
        ui.separator();
        let latest = state.history.back().map_or(0.0, |(_, l)| *l);
        ui.label(format!("{rate:.1} estimates/s, latency {latest:.0} ms"));
        latency_plot(ui, &state.history);
        ui.separator();
        ui.checkbox(&mut settings.enabled, "estimate");
        ui.add_enabled_ui(cfg!(feature = "wgpu"), |ui| {
            ui.checkbox(&mut settings.detect_on_gpu, "detect on the GPU (capture cameras)");
        });
        ui.checkbox(&mut settings.repair_left_right, "repair left/right swaps");
        ui.add_enabled_ui(settings.repair_left_right, |ui| {
            ui.checkbox(&mut settings.repair_crossed_feet, "repair crossed feet");
        });
        ui.checkbox(&mut settings.smoothing, "smoothing");
        ui.add(egui::Slider::new(&mut settings.min_cutoff, 0.05..=10.0).logarithmic(true).text("cutoff at rest (Hz)"));
        ui.add(egui::Slider::new(&mut settings.beta, 0.0..=5.0).text("speed coefficient"));
        ui.checkbox(&mut settings.show_cameras, "show cameras");
        ui.checkbox(&mut settings.show_skeleton, "show skeleton");
        ui.checkbox(&mut settings.hold_rig, "hold the estimated rig still");
        ui.checkbox(&mut settings.feet_and_hands, "turn feet and hands to the detector's landmarks");
        ui.checkbox(&mut settings.ground_feet, "stand on the floor");
        ui.add_enabled_ui(settings.ground_feet, |ui| {
            ui.checkbox(&mut settings.hold_planted_feet, "hold planted feet (leg IK)");
            ui.add(egui::Slider::new(&mut settings.contact_height, 0.005..=0.15).text("contact height (m)"));
            ui.add(egui::Slider::new(&mut settings.contact_speed, 0.05..=1.5).text("contact speed (m/s)"));
            let foot = |planted: bool| if planted { "planted" } else { "in the air" };
            match pose.floor.filter(|_| pose.grounded.is_some()) {
                Some(floor) => ui.small(format!(
                    "floor at {floor:.3} m; left foot {}, right foot {}",
                    foot(pose.contacts[0]),
                    foot(pose.contacts[1])
                )),
                None => ui.small("floor not known yet"),
            };
        });
        ui.separator();
        ui.horizontal(|ui| {
            if recorder.recording {
                if ui.button("stop").clicked() {
                    recorder.recording = false;
                }
            } else if ui.button("record").clicked() {
                recorder.start();
            }
            ui.label(format!("take: {} frames", recorder.take.frames.len()));
            if !recorder.recording && !recorder.take.frames.is_empty() && ui.button("save").clicked() {
                let name = format!(
                    "take-{}",
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
                );
                state.saved = Some(match recorder.save(std::path::Path::new("takes"), &name) {
                    Ok(paths) => format!("saved {}", paths.map(|p| p.display().to_string()).join(", ")),
                    Err(e) => format!("could not save: {e}"),
                });
            }
        });
        if let Some(saved) = &state.saved {
            ui.small(saved);
        }
        ui.separator();
        let (sender, receiver, status) = &mut streaming;
        streaming_controls(ui, sender, receiver, status);
    });
    Ok(())
}

/// The time offsets of the views that play recordings (seconds added to each one's clock).
#[derive(bevy::ecs::system::SystemParam)]
struct TimeOffsets<'w, 's> {
    sequences: Query<'w, 's, (Entity, &'static mut ImageSequence)>,
    #[cfg(feature = "video")]
    videos: Query<'w, 's, (Entity, &'static mut super::video::VideoFile)>,
}

impl TimeOffsets<'_, '_> {
    /// One drag value a view (seconds; shown in milliseconds), sorted by entity.
    fn controls(&mut self, ui: &mut egui::Ui) {
        let mut offsets: Vec<(Entity, &mut f64)> =
            self.sequences.iter_mut().map(|(e, s)| (e, &mut s.into_inner().time_offset)).collect();
        #[cfg(feature = "video")]
        offsets.extend(self.videos.iter_mut().map(|(e, v)| (e, &mut v.into_inner().time_offset)));
        if offsets.is_empty() {
            return;
        }
        offsets.sort_by_key(|(e, _)| *e);
        ui.small("time offsets (ms): a camera that started recording before the others gets a positive one");
        ui.horizontal_wrapped(|ui| {
            for (entity, offset) in offsets {
                let mut ms = *offset * 1e3;
                ui.label(format!("{entity}"));
                if ui.add(egui::DragValue::new(&mut ms).speed(1.0).range(-5000.0..=5000.0)).changed() {
                    *offset = ms / 1e3;
                }
            }
        });
    }
}

/// VMC out and in: on/off, addresses, rates and the newest problem.
fn streaming_controls(
    ui: &mut egui::Ui,
    sender: &mut CmanetVmcSender,
    receiver: &mut CmanetVmcReceiver,
    status: &VmcStatus,
) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut sender.enabled, "stream VMC to");
        ui.add(egui::TextEdit::singleline(&mut sender.target).desired_width(140.0));
    });
    if sender.enabled {
        let to = status.sending_to.map_or("resolving".to_string(), |a| a.to_string());
        ui.small(format!(
            "{to}: {:.0} poses/s ({:.0} OSC messages/s), {} sent",
            status.sent_per_second, status.messages_per_second, status.sent
        ));
        ui.checkbox(&mut sender.upper_body_only, "upper body only");
    }
    ui.horizontal(|ui| {
        ui.checkbox(&mut receiver.enabled, "receive VMC on");
        ui.add(egui::TextEdit::singleline(&mut receiver.listen).desired_width(140.0));
    });
    if receiver.enabled {
        let on = status.listening_on.map_or("not listening".to_string(), |a| a.to_string());
        ui.small(format!("{on}: {:.0} poses/s, {} received", status.received_per_second, status.received));
    }
    if let Some(problem) = &status.problem {
        ui.small(format!("streaming: {problem}"));
    }
}

/// A view's preview with its keypoints and limbs drawn over it.
fn view_image(ui: &mut egui::Ui, texture: Option<&egui::TextureHandle>, status: &ViewStatus) {
    let width = 160.0;
    let [w, h] = status.image_size.map(|v| v.max(1) as f32);
    let size = egui::vec2(width, width * h / w);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    match texture {
        Some(t) => {
            painter.image(
                t.id(),
                rect,
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                egui::Color32::WHITE,
            );
        }
        None => {
            painter.rect_filled(rect, 0.0, egui::Color32::DARK_GRAY);
        }
    }
    let Some(keypoints) = status.keypoints2d else { return };
    let at = |k: usize| rect.min + egui::vec2(keypoints[k][0] / w * size.x, keypoints[k][1] / h * size.y);
    let seen = |k: usize| keypoints[k][2] > 0.3;
    for (a, b) in COCO_EDGES {
        if seen(a) && seen(b) {
            painter.line_segment([at(a), at(b)], egui::Stroke::new(1.5, egui::Color32::from_rgb(40, 220, 255)));
        }
    }
    for k in (0..NUM_KEYPOINTS).filter(|&k| seen(k)) {
        let c = keypoints[k][2].clamp(0.0, 1.0);
        let colour = egui::Color32::from_rgb((255.0 * (1.0 - c)) as u8, (255.0 * c) as u8, 60);
        painter.circle_filled(at(k), 2.5, colour);
    }
}

/// Latency of the kept estimates (orange) and the estimate rate between them (blue), each with
/// its scale.
fn latency_plot(ui: &mut egui::Ui, history: &VecDeque<(f64, f32)>) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width().max(200.0), 60.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, egui::Color32::from_gray(30));
    let rates: Vec<f32> = history
        .iter()
        .zip(history.iter().skip(1))
        .map(|(a, b)| if b.0 > a.0 { (1.0 / (b.0 - a.0)) as f32 } else { 0.0 })
        .collect();
    let latencies: Vec<f32> = history.iter().map(|(_, l)| *l).collect();
    let line = |values: &[f32], floor: f32, colour: egui::Color32| -> f32 {
        let top = values.iter().copied().fold(floor, f32::max) * 1.1;
        let n = values.len().max(2) as f32 - 1.0;
        let points: Vec<egui::Pos2> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                egui::pos2(rect.left() + rect.width() * i as f32 / n, rect.bottom() - rect.height() * v / top)
            })
            .collect();
        painter.add(egui::Shape::line(points, egui::Stroke::new(1.5, colour)));
        top
    };
    let orange = egui::Color32::from_rgb(255, 190, 40);
    let blue = egui::Color32::from_rgb(90, 170, 255);
    let latency_top = line(&latencies, 10.0, orange);
    let rate_top = line(&rates, 1.0, blue);
    let font = egui::FontId::monospace(10.0);
    painter.text(rect.left_top(), egui::Align2::LEFT_TOP, format!("{latency_top:.0} ms"), font.clone(), orange);
    painter.text(rect.right_top(), egui::Align2::RIGHT_TOP, format!("{rate_top:.1} /s"), font, blue);
}
