//! The network's hyper-parameters, with presets, stored in every weights file.

use serde::{Deserialize, Serialize};

/// CMANet's sizes. `small` is what this machine trains in about an hour; `base` is twice as wide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Width of the IRV's residual MLP. Default (`small`): 256.
    pub hidden: usize,
    /// Residual blocks in the IRV per refinement step. Default: 2.
    pub irv_blocks: usize,
    /// Iterative error feedback steps of the IRV. Default: 3.
    pub irv_iterations: usize,
    /// Length of the feature vector each view hands to the IEV. Default: 128.
    pub feature_dim: usize,
    /// Width of the IEV's tokens. Default: 128.
    pub token_dim: usize,
    /// Attention heads in the IEV. Default: 4.
    pub heads: usize,
    /// Transformer layers in one IEV step. Default: 2.
    pub iev_layers: usize,
    /// IEV refinement steps (weights shared). Default: 3.
    pub iev_iterations: usize,
    /// Whether the IEV also estimates the subject's bone corrections
    /// ([`super::body_refinement::ADAPTED_BONES`]) from the views. Default: true (false in weights
    /// files written before it existed).
    #[serde(default)]
    pub bones: bool,
    /// Whether every IEV step sees how far the current estimate reprojects from each view's
    /// keypoints (in units of the person's size), so it can correct what it sees is wrong.
    /// Default: true (false in weights files written before it existed).
    #[serde(default)]
    pub feedback: bool,
    /// Whether every IEV step's body token also sees the views' keypoints triangulated through the
    /// current cameras, as their 3D difference from the current body's keypoints
    /// ([`super::triangulation`]). Default: true (false in weights files written before it
    /// existed).
    #[serde(default)]
    pub triangulation: bool,
}

impl Config {
    /// The small preset (the shipped model's).
    pub fn small() -> Self {
        Self {
            hidden: 256,
            irv_blocks: 2,
            irv_iterations: 3,
            feature_dim: 128,
            token_dim: 128,
            heads: 4,
            iev_layers: 2,
            iev_iterations: 3,
            bones: true,
            feedback: true,
            triangulation: true,
        }
    }

    /// The base preset: wider and deeper.
    pub fn base() -> Self {
        Self {
            hidden: 512,
            irv_blocks: 3,
            irv_iterations: 3,
            feature_dim: 256,
            token_dim: 256,
            heads: 8,
            iev_layers: 3,
            iev_iterations: 3,
            bones: true,
            feedback: true,
            triangulation: true,
        }
    }

    /// This config with one field changed, `NAME=VALUE` (a field's name as in the weights file's
    /// JSON, a number or `true`/`false`); checked with [`Config::validate`]. An unknown name or a
    /// value of the wrong kind is refused by name.
    pub fn with_change(&self, change: &str) -> Result<Self, String> {
        let (name, value) = change.split_once('=').ok_or("expected NAME=VALUE")?;
        let mut json = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let field = json.get_mut(name.trim()).ok_or_else(|| format!("no size called `{}`", name.trim()))?;
        let value: serde_json::Value = serde_json::from_str(value.trim())
            .map_err(|_| format!("`{}` is not a number or a boolean", value.trim()))?;
        if std::mem::discriminant(field) != std::mem::discriminant(&value) {
            return Err(format!("`{}` takes a value like {field}", name.trim()));
        }
        *field = value;
        let changed: Self = serde_json::from_value(json).map_err(|e| e.to_string())?;
        changed.validate()?;
        Ok(changed)
    }

    /// Checks the sizes fit together (tokens split evenly over the heads, nothing zero).
    pub fn validate(&self) -> Result<(), String> {
        let sizes = [
            self.hidden,
            self.irv_blocks,
            self.irv_iterations,
            self.feature_dim,
            self.token_dim,
            self.heads,
            self.iev_layers,
            self.iev_iterations,
        ];
        if sizes.contains(&0) {
            return Err(format!("every size must be positive: {self:?}"));
        }
        if !self.token_dim.is_multiple_of(self.heads) {
            return Err(format!("token_dim {} is not a multiple of heads {}", self.token_dim, self.heads));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::small()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_sets_one_field_and_a_bad_one_is_refused_by_name() {
        let changed = Config::small().with_change("iev_iterations=3").unwrap();
        assert_eq!(changed, Config { iev_iterations: 3, ..Config::small() });
        assert!(Config::small().with_change("feedback=true").unwrap().feedback);
        assert!(Config::small().with_change("depth=3").unwrap_err().contains("depth"));
        assert!(Config::small().with_change("feedback=3").unwrap_err().contains("feedback"));
        assert!(Config::small().with_change("heads=5").unwrap_err().contains("multiple"));
        assert!(Config::small().with_change("heads").is_err());
    }
}
