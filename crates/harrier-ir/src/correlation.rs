use crate::{CompareOp, RuleMeta};

/// What a correlation counts over the matches of its rules.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq)]
pub enum CorrelationKind {
    /// Matching events per group and window.
    EventCount,
    /// Distinct values of a field per group and window.
    ValueCount,
    /// All the rules matched within the window, in any order.
    Temporal,
    /// All the rules matched within the window, in the order listed.
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    /// The given percentile (0-100) of a numeric field.
    ValuePercentile(f64),
    ValueMedian,
}

impl CorrelationKind {
    pub fn name(self) -> &'static str {
        match self {
            CorrelationKind::EventCount => "event_count",
            CorrelationKind::ValueCount => "value_count",
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
            CorrelationKind::ValueSum => "value_sum",
            CorrelationKind::ValueAvg => "value_avg",
            CorrelationKind::ValuePercentile(_) => "value_percentile",
            CorrelationKind::ValueMedian => "value_median",
        }
    }

    /// Whether the kind aggregates the values of `field`.
    pub fn needs_field(self) -> bool {
        !matches!(self, CorrelationKind::EventCount | CorrelationKind::Temporal | CorrelationKind::TemporalOrdered)
    }
}

/// A group-by name that stands for a different field in each rule.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Alias {
    pub name: String,
    /// (rule id or name, that rule's field).
    pub fields: Vec<(String, String)>,
}

/// A correlation rule: a condition over the matches of other rules (or correlations) that
/// share group-by values within a time window.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Correlation {
    pub meta: RuleMeta,
    pub kind: CorrelationKind,
    /// The rules correlated, by id or name as written.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_seconds: i64,
    /// Comparisons the aggregate must all meet.
    pub condition: Vec<(CompareOp, f64)>,
    /// The field a `value_*` kind aggregates.
    pub field: Option<String>,
    pub aliases: Vec<Alias>,
    /// Whether the correlated rules also report their own matches.
    pub generate: bool,
}
