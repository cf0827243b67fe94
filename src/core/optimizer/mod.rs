//! The optimizer (docs/optimizer.md): for each new journey it chooses, among each step's
//! `delay_options`, `discount_options` and `template_options`, the ones most likely to bring
//! the cart back, and learns from how journeys end.
//!
//! - [`choice`]: Thompson sampling from the model, per step, option kind and cart-value
//!   segment, with a share of uniformly random choices; made once, when the journey starts,
//!   and stored with it.
//! - [`model`]: an additive model of the reward over all of a journey's options at once, its
//!   segments pooled per kind by how far they differ.
//! - [`learning`]: one trial per journey, settled once, and the tallies the model and the
//!   report read (per option, and per whole configuration).
//! - [`posterior`]: what an option's own tally says about its reward (the report's means).
//! - [`report`]: what `GET /api/optimization` shows.
//!
//! A journey's outcome is credited to every option it used; the model separates their effects
//! (each option beside the others its journeys ran with), so a shop learns from every journey
//! without filling every combination.

pub mod choice;
pub mod learning;
pub mod model;
pub mod posterior;
pub mod report;

pub mod rng;
pub mod segment;

use serde::{Deserialize, Serialize};

use crate::core::playbook::{Discount, Step, Template};

pub use choice::{choose, Choice, StepChoice};
pub use learning::{Conversion, Learning, Trial};
pub use rng::Rng;
pub use segment::Segment;

/// The most combinations the options of all steps may make together (validation): this bounds
/// the configurations counted and the model's size.
pub const MAX_COMBINATIONS: usize = 64;

/// How many combinations the playbook's options make: the product of every step's option
/// counts per kind (a kind without options counts once).
pub fn combinations(playbook: &crate::core::playbook::Playbook) -> usize {
    playbook
        .steps
        .iter()
        .flat_map(|step| Dimension::ALL.map(|d| options(step, d).len().max(1)))
        .fold(1usize, |n, k| n.saturating_mul(k))
}

/// What an option of a step changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Delay,
    Discount,
    Template,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Delay, Dimension::Discount, Dimension::Template];
}

/// One option of a step, as chosen for a journey.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dimension", rename_all = "snake_case")]
pub enum Chosen {
    Delay { seconds: i64 },
    Discount { discount: Option<Discount> },
    Template { template: Template },
}

impl Chosen {
    pub fn dimension(&self) -> Dimension {
        match self {
            Chosen::Delay { .. } => Dimension::Delay,
            Chosen::Discount { .. } => Dimension::Discount,
            Chosen::Template { .. } => Dimension::Template,
        }
    }

    /// The option's name in the tallies and the report. Options are credited by what they
    /// are, not by their place in the list, so a merchant may reorder or add options without
    /// mixing up what was learned.
    pub fn label(&self) -> String {
        match self {
            Chosen::Delay { seconds } => format!("{seconds}s"),
            Chosen::Discount { discount: None } => "none".into(),
            Chosen::Discount { discount: Some(d) } => {
                format!("{}%/{}h", d.percent, d.expires_after_hours)
            }
            Chosen::Template { template } => template.name.clone(),
        }
    }

    /// The step as it runs with this option.
    fn apply(&self, step: &mut Step) {
        match self {
            Chosen::Delay { seconds } => step.delay_seconds = *seconds,
            Chosen::Discount { discount } => step.discount = discount.clone(),
            Chosen::Template { template } => step.template = template.clone(),
        }
    }
}

/// The options a step offers of one kind (empty: the step's own value, nothing to learn).
pub fn options(step: &Step, dimension: Dimension) -> Vec<Chosen> {
    match dimension {
        Dimension::Delay => step
            .delay_options
            .iter()
            .map(|&seconds| Chosen::Delay { seconds })
            .collect(),
        Dimension::Discount => step
            .discount_options
            .iter()
            .map(|discount| Chosen::Discount {
                discount: discount.clone(),
            })
            .collect(),
        Dimension::Template => step
            .template_options
            .iter()
            .map(|template| Chosen::Template {
                template: template.clone(),
            })
            .collect(),
    }
}
