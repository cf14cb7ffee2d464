//! Elastic-net regularised logistic regression on a sparse binary design matrix, fitted along a
//! regularisation path.
//!
//! This is the solver behind `rubric learn`, which turns each nonzero coefficient of a chosen path
//! point into a weighted Boolean rule. It is std-only, single-threaded and deterministic: the same
//! inputs give bit-identical outputs.
//!
//! # Model
//! Rows `i = 0..n` have a label `y_i ∈ {0, 1}` (`true` = 1), a weight `w_i ≥ 0` and binary features
//! `x_ij ∈ {0, 1}`. At each `λ` of the path, [`fit_path`] minimises over the intercept `b0` and the
//! coefficients `b`
//!
//! ```text
//! (1 / Σ_i w_i) · Σ_i w_i · [log(1 + exp(η_i)) − y_i · η_i]  +  λ · (α · ‖b‖₁ + (1 − α)/2 · ‖b‖₂²)
//! where η_i = b0 + Σ_j x_ij · b_j  (the log-odds of row i)
//! ```
//!
//! with `α` = [`PathOptions::l1_ratio`]; the intercept is not penalised. This is glmnet's
//! parametrisation (`alpha`, `lambda`) of the binomial family with `standardize = FALSE`.
//!
//! # Method
//! Friedman, Hastie & Tibshirani (2010), "Regularization Paths for Generalized Linear Models via
//! Coordinate Descent", *J. Stat. Softw.* 33(1):
//! - The path starts at `λ_max`, the smallest `λ` at which every coefficient is zero (the
//!   intercept-only model, fitted exactly), and decreases geometrically to
//!   `min_ratio · λ_max`; each point is warm-started from the previous one. [`fit_path_at`] fits
//!   given `λ`s instead (e.g. cross-validation folds at the full data's `λ`s).
//! - Outer loop: IRLS, i.e. a quadratic approximation of the log-likelihood at the current estimate
//!   with working weights `w_i · p_i (1 − p_i)`, the probabilities clamped to `[1e-5, 1 − 1e-5]`
//!   for the weights as glmnet does (the working residuals use the exact probabilities, so the
//!   fixed point is the exact optimum).
//! - Inner loop: cyclic coordinate descent with soft-thresholding on the quadratic, the intercept
//!   updated after every pass. Like glmnet, which centres the predictors when it fits an
//!   intercept, each coordinate moves along its column minus the column's working-weighted mean
//!   (the intercept absorbing the mean), so that binary columns, which are far from centred, do
//!   not fight the intercept. Residuals are maintained incrementally and the centring is applied
//!   lazily; a binary column makes a coordinate update touch only the rows where the feature is 1.
//! - Active sets, as in the paper and glmnet: passes over the coordinates that have ever been
//!   nonzero until they converge, then one pass over all candidate coordinates; repeated until that
//!   full pass changes nothing.
//! - Sequential strong rules (Tibshirani, Bien, Friedman, Hastie, Simon, Taylor & Tibshirani
//!   (2012), "Strong rules for discarding predictors in lasso-type problems", *J. R. Stat. Soc. B*
//!   74(2)) choose the candidate coordinates at each `λ`; after convergence every discarded
//!   coordinate is checked against the KKT conditions with the exact gradient and violators are
//!   added and the point re-fitted, so the result never depends on the screening.
//! - Unlike glmnet's Fortran `lognet`, each IRLS step is followed by step halving on the exact
//!   penalised objective when the step would increase it (as in the proximal Newton method of Lee,
//!   Sun & Saunders (2014), "Proximal Newton-type methods for minimizing composite functions",
//!   *SIAM J. Optim.* 24(3)), so the objective never increases, even on nearly separable data.
//!
//! # Example
//! ```
//! use rubric_engine::learn::model::{decision, fit_path, Design, PathOptions};
//! // Feature 0 is on in the positive rows 0 and 1 and in the negative row 2; feature 1 only in row 3.
//! let design = Design { rows: 5, columns: vec![vec![0, 1, 2], vec![3]] };
//! let labels = [true, true, false, false, false];
//! let path = fit_path(&design, &labels, None, &PathOptions::default()).unwrap();
//! assert!(path[0].coefficients.is_empty()); // λ_max: intercept only
//! let last = path.last().unwrap();
//! assert!(decision(last, &[0]) > decision(last, &[1]));
//! ```

use std::fmt;

/// Probabilities are clamped to `[PMIN, 1 − PMIN]` when computing IRLS working weights, so that a
/// weight never vanishes: glmnet's `pmin` (1e-5 in its original Fortran, 1e-9 in later releases).
const PMIN: f64 = 1e-5;

/// A coordinate whose centred curvature is below this fraction of its raw curvature is (to
/// rounding) constant over the rows with positive weight, i.e. a copy of the intercept.
const CENTRED_FLOOR: f64 = 1e-12;

/// Maximum number of step halvings of one IRLS step.
const MAX_HALVINGS: usize = 30;

/// When the largest absolute gradient of the intercept-only model is at most this, no feature is
/// related to the labels (up to rounding) and the path is the intercept-only model alone.
const ZERO_GRADIENT: f64 = 1e-12;

/// A binary design matrix stored by column.
///
/// `columns[j]` lists the rows (indices in `0..rows`, sorted strictly ascending, so no duplicates)
/// where feature `j` is 1; every other entry of the column is 0. Feature indices are `u32`, so
/// there can be at most `2³²` columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Design {
    /// Number of rows (examples).
    pub rows: usize,
    /// For each feature, the sorted rows where it is 1.
    pub columns: Vec<Vec<u32>>,
}

impl Design {
    /// Number of features (columns).
    pub fn features(&self) -> usize {
        self.columns.len()
    }

    /// Number of ones in the matrix.
    pub fn nonzeros(&self) -> usize {
        self.columns.iter().map(Vec::len).sum()
    }

    /// Checks the invariants that [`fit_path`] relies on: at least one row, at most `2³²`
    /// features, and every column sorted strictly ascending with rows below [`Design::rows`].
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.rows == 0 {
            return Err(ModelError::NoRows);
        }
        if u32::try_from(self.columns.len().saturating_sub(1)).is_err() {
            return Err(ModelError::TooManyFeatures {
                features: self.columns.len(),
            });
        }
        for (column, rows) in self.columns.iter().enumerate() {
            let mut previous: Option<u32> = None;
            for &row in rows {
                if row as usize >= self.rows {
                    return Err(ModelError::InvalidDesign {
                        column,
                        row,
                        problem: DesignProblem::RowOutOfRange,
                    });
                }
                if previous.is_some_and(|p| p >= row) {
                    return Err(ModelError::InvalidDesign {
                        column,
                        row,
                        problem: DesignProblem::NotStrictlyAscending,
                    });
                }
                previous = Some(row);
            }
        }
        Ok(())
    }

    /// The transpose: for each of the [`Design::rows`] rows, the features that are 1 in it, sorted
    /// ascending (the form [`decision`] takes).
    ///
    /// Entries that [`Design::validate`] would reject (a row out of range, or a feature index that
    /// does not fit in `u32`) are skipped; duplicated entries of a column are kept.
    pub fn rows_of(&self) -> Vec<Vec<u32>> {
        let mut counts = vec![0usize; self.rows];
        for rows in &self.columns {
            for &row in rows {
                if let Some(count) = counts.get_mut(row as usize) {
                    *count += 1;
                }
            }
        }
        let mut out: Vec<Vec<u32>> = counts.into_iter().map(Vec::with_capacity).collect();
        for (feature, rows) in self.columns.iter().enumerate() {
            let Ok(feature) = u32::try_from(feature) else {
                break;
            };
            for &row in rows {
                if let Some(list) = out.get_mut(row as usize) {
                    list.push(feature);
                }
            }
        }
        out
    }
}

/// Options of [`fit_path`]. The defaults are glmnet's, except where noted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathOptions {
    /// Elastic-net mixing `α` (glmnet's `alpha`), in `(0, 1]`: the penalty is
    /// `λ · (α · ‖b‖₁ + (1 − α)/2 · ‖b‖₂²)`. `1.0` (the default) is the lasso; smaller values add a
    /// ridge part that spreads weight over correlated features. `0` (pure ridge) is not allowed:
    /// it has no sparsity and no finite `λ_max`.
    pub l1_ratio: f64,
    /// Number of path points (glmnet's `nlambda`), at least 1; default 60 (glmnet: 100). The first
    /// is `λ_max`.
    pub lambdas: usize,
    /// `λ_min / λ_max` (glmnet's `lambda.min.ratio`), in `(0, 1]`; default `1e-3`. The `λ`s are
    /// `λ_max · min_ratio^(k / (lambdas − 1))` for `k = 0..lambdas`.
    pub min_ratio: f64,
    /// Stop the path as soon as a point has more nonzero coefficients than this (like glmnet's
    /// `dfmax`); that point is not returned ([`PathEnd::TooManyNonzero`]). Default `usize::MAX`
    /// (no limit).
    pub max_nonzero: usize,
    /// Convergence threshold, positive; glmnet's `thresh`, with glmnet's scaling. Coordinate
    /// descent, and IRLS, stop when the largest `c_j · Δb_j²` over the coefficients and the
    /// intercept is below `tolerance · L0`, where `Δb_j` is a coefficient's change in one pass
    /// (IRLS: in one step), `c_j` the curvature of the quadratic approximation along the
    /// coordinate (for feature `j`, `Σ_i v_i (x_ij − m_j)²` with `v_i = w_i · p_i (1 − p_i) / Σw`
    /// the working weights and `m_j` the column's `v`-weighted mean; for the intercept, `Σ_i v_i`),
    /// and `L0` the objective of the intercept-only model (the weighted entropy of the labels, at
    /// most ln 2). `c_j · Δb_j²` is about twice the objective decrease of the update. At a
    /// converged point each coordinate's gradient is off by about `sqrt(c_j · tolerance · L0)`, at
    /// most `sqrt(tolerance · ln 2 / 4)`. Default `1e-7` (glmnet's default).
    pub tolerance: f64,
    /// Cap on coordinate-descent passes per `λ` (all IRLS steps and KKT rounds together), at least
    /// 1 (glmnet's `maxit`, per `λ`). Default 1000. When it is reached the path stops there; that
    /// point is not returned ([`PathEnd::NotConverged`]).
    pub max_passes: usize,
}

impl Default for PathOptions {
    fn default() -> Self {
        PathOptions {
            l1_ratio: 1.0,
            lambdas: 60,
            min_ratio: 1e-3,
            max_nonzero: usize::MAX,
            tolerance: 1e-7,
            max_passes: 1000,
        }
    }
}

impl PathOptions {
    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.validate_solver()?;
        if self.lambdas == 0 {
            return Err(invalid("lambdas", "0".into(), "at least 1"));
        }
        if !(self.min_ratio > 0.0 && self.min_ratio <= 1.0) {
            return Err(invalid(
                "min_ratio",
                self.min_ratio.to_string(),
                "in (0, 1]",
            ));
        }
        Ok(())
    }

    /// Checks the fields other than `lambdas` and `min_ratio` (which [`fit_path_at`] ignores).
    fn validate_solver(&self) -> Result<(), ModelError> {
        if !(self.l1_ratio > 0.0 && self.l1_ratio <= 1.0) {
            return Err(invalid("l1_ratio", self.l1_ratio.to_string(), "in (0, 1]"));
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(invalid(
                "tolerance",
                self.tolerance.to_string(),
                "positive and finite",
            ));
        }
        if self.max_passes == 0 {
            return Err(invalid("max_passes", "0".into(), "at least 1"));
        }
        Ok(())
    }
}

fn invalid(option: &'static str, value: String, expected: &'static str) -> ModelError {
    ModelError::InvalidOption {
        option,
        value,
        expected,
    }
}

/// One point of the regularisation path: the fitted model at one `λ`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathPoint {
    /// The penalty strength `λ` of this point (in units of the per-unit-weight average log-loss).
    pub lambda: f64,
    /// The unpenalised intercept `b0` (log-odds of a row with no active feature).
    pub intercept: f64,
    /// The nonzero coefficients `(feature, b_j)` (log-odds added when the feature is 1), sorted
    /// by feature index.
    pub coefficients: Vec<(u32, f64)>,
}

impl PathPoint {
    /// Number of nonzero coefficients.
    pub fn nonzero(&self) -> usize {
        self.coefficients.len()
    }

    /// The coefficient of `feature` (0 when it is not in the model), by binary search.
    pub fn coefficient(&self, feature: u32) -> f64 {
        match self
            .coefficients
            .binary_search_by_key(&feature, |&(f, _)| f)
        {
            Ok(k) => self.coefficients[k].1,
            Err(_) => 0.0,
        }
    }
}

/// Why the path ended; see [`PathFit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PathEnd {
    /// All [`PathOptions::lambdas`] points were fitted (or the path is the single intercept-only
    /// point because no feature has a nonzero gradient there).
    Completed,
    /// The point at `lambda` had `nonzero` coefficients, more than [`PathOptions::max_nonzero`];
    /// it is not returned.
    TooManyNonzero {
        /// The `λ` of the rejected point.
        lambda: f64,
        /// Its number of nonzero coefficients.
        nonzero: usize,
    },
    /// The point at `lambda` did not converge within [`PathOptions::max_passes`] coordinate-descent
    /// passes; it is not returned (glmnet likewise returns the path up to the previous point).
    NotConverged {
        /// The `λ` of the abandoned point.
        lambda: f64,
    },
}

/// The result of [`fit_path_with_status`] and [`fit_path_at`]: the path and why it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PathFit {
    /// The fitted points, `λ` decreasing. From [`fit_path_with_status`]: never empty, the first
    /// being the intercept-only model at `λ_max`. From [`fit_path_at`]: point `k` is at the
    /// `k`-th requested `λ`, and there are fewer points than requested `λ`s only when the path
    /// stopped early (see `end`).
    pub points: Vec<PathPoint>,
    /// `λ_max`: the smallest `λ` at which all coefficients are zero (`0.0` when no feature has a
    /// nonzero gradient at the intercept-only model).
    pub lambda_max: f64,
    /// Why the path ended.
    pub end: PathEnd,
}

/// What is wrong with a column of a [`Design`]; see [`ModelError::InvalidDesign`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignProblem {
    /// A row index is `>= Design::rows`.
    RowOutOfRange,
    /// A row index is not greater than the one before it (unsorted or duplicated).
    NotStrictlyAscending,
}

/// Why [`fit_path`] refused its input.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// `labels` or `sample_weights` does not have one entry per row of the design.
    LengthMismatch {
        /// `"labels"` or `"sample_weights"`.
        what: &'static str,
        /// The design's number of rows.
        expected: usize,
        /// The slice's length.
        found: usize,
    },
    /// The design has no rows.
    NoRows,
    /// The design has more than `2³²` features (their indices are `u32`).
    TooManyFeatures {
        /// The number of columns.
        features: usize,
    },
    /// A column of the design breaks the [`Design`] invariants.
    InvalidDesign {
        /// The feature (column index).
        column: usize,
        /// The offending row index.
        row: u32,
        /// What is wrong.
        problem: DesignProblem,
    },
    /// All the rows with positive weight have the same label, so there is nothing to learn.
    OnlyOneClass {
        /// The label that is present (`true` = positive).
        present: bool,
    },
    /// A sample weight is negative, NaN or infinite.
    InvalidWeight {
        /// The row.
        row: usize,
        /// Its weight.
        value: f64,
    },
    /// The sample weights sum to zero or overflow to infinity.
    InvalidTotalWeight {
        /// The sum of the weights.
        total: f64,
    },
    /// A [`PathOptions`] field is out of range.
    InvalidOption {
        /// The field name.
        option: &'static str,
        /// Its value.
        value: String,
        /// The allowed range.
        expected: &'static str,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::LengthMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "{what} has {found} entries but the design has {expected} rows"
            ),
            ModelError::NoRows => write!(f, "the design has no rows"),
            ModelError::TooManyFeatures { features } => write!(
                f,
                "the design has {features} features, more than the 2^32 that u32 indices allow"
            ),
            ModelError::InvalidDesign {
                column,
                row,
                problem,
            } => match problem {
                DesignProblem::RowOutOfRange => write!(
                    f,
                    "column {column} of the design lists row {row}, which is out of range"
                ),
                DesignProblem::NotStrictlyAscending => write!(
                    f,
                    "column {column} of the design is not strictly ascending at row {row}"
                ),
            },
            ModelError::OnlyOneClass { present } => {
                let (present, absent) = if *present {
                    ("positive", "negative")
                } else {
                    ("negative", "positive")
                };
                write!(
                    f,
                    "only the {present} class is present (no {absent} example with positive weight)"
                )
            }
            ModelError::InvalidWeight { row, value } => write!(
                f,
                "the sample weight of row {row} is {value}; weights must be finite and non-negative"
            ),
            ModelError::InvalidTotalWeight { total } => write!(
                f,
                "the sample weights sum to {total}; the sum must be positive and finite"
            ),
            ModelError::InvalidOption {
                option,
                value,
                expected,
            } => write!(f, "option {option} is {value}; it must be {expected}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// Fits the elastic-net logistic regression path; see the [module documentation](self) for the
/// objective and the method.
///
/// `labels[i]` is row `i`'s class (`true` = positive); `sample_weights` (`None` = all `1.0`)
/// multiply each row's loss, e.g. for class balancing; a weight of 2 is the same as the row twice.
/// Returns the points in decreasing `λ`, starting with the intercept-only model at `λ_max`; the
/// path ends early when [`PathOptions::max_nonzero`] is exceeded or a point does not converge
/// within [`PathOptions::max_passes`] ([`fit_path_with_status`] says which). When no feature has a
/// nonzero gradient at the intercept-only model, that model is optimal for every `λ` and the path
/// is that single point, with `lambda` 0.
///
/// Errors on inconsistent input (see [`ModelError`]); never panics.
pub fn fit_path(
    design: &Design,
    labels: &[bool],
    sample_weights: Option<&[f64]>,
    options: &PathOptions,
) -> Result<Vec<PathPoint>, ModelError> {
    fit_path_with_status(design, labels, sample_weights, options).map(|fit| fit.points)
}

/// [`fit_path`], also returning `λ_max` and why the path ended.
pub fn fit_path_with_status(
    design: &Design,
    labels: &[bool],
    sample_weights: Option<&[f64]>,
    options: &PathOptions,
) -> Result<PathFit, ModelError> {
    fit(
        design,
        labels,
        sample_weights,
        None,
        options,
        Schedule::of(options, None)?,
    )
}

/// Fits the model at the given `lambdas` (glmnet's user-supplied `lambda`), e.g. the `λ`s of the
/// full-data path when fitting cross-validation folds (as glmnet's `cv.glmnet` does), warm-starting
/// each from the previous one.
///
/// `lambdas` must be non-empty, finite, positive and non-increasing. Point `k` of the result is at
/// `lambdas[k]`; a `λ` at or above this data's `λ_max` gives the intercept-only model.
/// [`PathOptions::lambdas`] and [`PathOptions::min_ratio`] are ignored; the other options, the
/// early stops and the errors are those of [`fit_path`].
pub fn fit_path_at(
    design: &Design,
    labels: &[bool],
    sample_weights: Option<&[f64]>,
    options: &PathOptions,
    lambdas: &[f64],
) -> Result<PathFit, ModelError> {
    fit(
        design,
        labels,
        sample_weights,
        None,
        options,
        Schedule::of(options, Some(lambdas))?,
    )
}

/// [`fit_path_with_status`] (when `lambdas` is `None`) or [`fit_path_at`], with a fixed,
/// unpenalised `offset` added to every row's log-odds (glmnet's `offset`): the model is
/// `offset_i + intercept + Σ b_j x_ij`, so it learns corrections to a prior score, e.g. of
/// hand-written rules. [`decision`] does not include the offset: add it. With an offset,
/// `λ_max` and the intercept-only model are those of the offset model (the intercept found by
/// Newton's method).
///
/// # Errors
/// Those of [`fit_path`], and a length mismatch or a non-finite value of `offset`.
pub fn fit_path_with_offset(
    design: &Design,
    labels: &[bool],
    sample_weights: Option<&[f64]>,
    offset: &[f64],
    options: &PathOptions,
    lambdas: Option<&[f64]>,
) -> Result<PathFit, ModelError> {
    fit(
        design,
        labels,
        sample_weights,
        Some(offset),
        options,
        Schedule::of(options, lambdas)?,
    )
}

/// The `λ`s of a fit.
#[derive(Clone, Copy)]
enum Schedule<'s> {
    /// `λ_max · min_ratio^(k / (count − 1))` for `k = 0..count`.
    Geometric { count: usize, min_ratio: f64 },
    /// Exactly these (validated: positive, finite, non-increasing).
    Given(&'s [f64]),
}

impl<'s> Schedule<'s> {
    /// The schedule of `options`, or of the given `lambdas`, with the options checked: all of
    /// them for a geometric path; for given `λ`s, those of the solver, and the `λ`s non-empty,
    /// finite, positive and non-increasing.
    fn of(options: &PathOptions, lambdas: Option<&'s [f64]>) -> Result<Self, ModelError> {
        let Some(lambdas) = lambdas else {
            options.validate()?;
            return Ok(Schedule::Geometric {
                count: options.lambdas,
                min_ratio: options.min_ratio,
            });
        };
        options.validate_solver()?;
        if lambdas.is_empty() {
            return Err(invalid("lambdas", "[]".into(), "at least one λ"));
        }
        let mut previous = f64::INFINITY;
        for &lambda in lambdas {
            if !(lambda > 0.0 && lambda.is_finite() && lambda <= previous) {
                return Err(invalid(
                    "lambdas",
                    format!("{lambdas:?}"),
                    "finite, positive and non-increasing",
                ));
            }
            previous = lambda;
        }
        Ok(Schedule::Given(lambdas))
    }
}

/// Checks the data and fits; the options are already validated.
fn fit(
    design: &Design,
    labels: &[bool],
    sample_weights: Option<&[f64]>,
    offset: Option<&[f64]>,
    options: &PathOptions,
    schedule: Schedule<'_>,
) -> Result<PathFit, ModelError> {
    if let Some(offset) = offset {
        if offset.len() != design.rows {
            return Err(ModelError::LengthMismatch {
                what: "offset",
                expected: design.rows,
                found: offset.len(),
            });
        }
        if let Some(value) = offset.iter().find(|o| !o.is_finite()) {
            return Err(invalid("offset", value.to_string(), "finite"));
        }
    }
    if labels.len() != design.rows {
        return Err(ModelError::LengthMismatch {
            what: "labels",
            expected: design.rows,
            found: labels.len(),
        });
    }
    if let Some(weights) = sample_weights {
        if weights.len() != design.rows {
            return Err(ModelError::LengthMismatch {
                what: "sample_weights",
                expected: design.rows,
                found: weights.len(),
            });
        }
        if let Some((row, &value)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(ModelError::InvalidWeight { row, value });
        }
    }
    design.validate()?;

    let raw_weight = |i: usize| sample_weights.map_or(1.0, |w| w[i]);
    let (mut positive, mut negative) = (0.0f64, 0.0f64);
    for (i, &label) in labels.iter().enumerate() {
        if label {
            positive += raw_weight(i);
        } else {
            negative += raw_weight(i);
        }
    }
    let total = positive + negative;
    if !(total > 0.0 && total.is_finite()) {
        return Err(ModelError::InvalidTotalWeight { total });
    }
    if positive == 0.0 || negative == 0.0 {
        return Err(ModelError::OnlyOneClass {
            present: positive > 0.0,
        });
    }

    let weights: Vec<f64> = (0..design.rows).map(|i| raw_weight(i) / total).collect();
    let targets: Vec<f64> = labels.iter().map(|&l| if l { 1.0 } else { 0.0 }).collect();
    let mut solver = Solver::new(design, &targets, weights, options, positive, negative);
    solver.offset = offset;
    Ok(solver.run(schedule))
}

/// The linear predictor (log-odds) of a row whose active features are `row_features` (sorted
/// ascending, as [`Design::rows_of`] gives them): the intercept plus the coefficient of each
/// listed feature (found by binary search; features not in the model contribute 0, a feature
/// listed twice counts twice). The probability of the positive class is `1 / (1 + exp(−decision))`.
pub fn decision(point: &PathPoint, row_features: &[u32]) -> f64 {
    let mut eta = point.intercept;
    if point.coefficients.is_empty() {
        return eta;
    }
    for &feature in row_features {
        eta += point.coefficient(feature);
    }
    eta
}

/// The objective of the intercept-only model: the entropy (nats) of the weighted positive rate.
fn null_loss(positive: f64, negative: f64) -> f64 {
    let rate = positive / (positive + negative);
    let entropy = -(rate * rate.ln() + (1.0 - rate) * (1.0 - rate).ln());
    // Both classes have positive weight, so this is positive unless the rate rounds to 0 or 1.
    if entropy > 0.0 {
        entropy
    } else {
        f64::MIN_POSITIVE
    }
}

/// `1 / (1 + exp(−eta))`, without overflow.
fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(eta))`, without overflow.
fn softplus(eta: f64) -> f64 {
    eta.max(0.0) + (-eta.abs()).exp().ln_1p()
}

/// `sign(z) · max(|z| − gamma, 0)`.
fn soft_threshold(z: f64, gamma: f64) -> f64 {
    if z > gamma {
        z - gamma
    } else if z < -gamma {
        z + gamma
    } else {
        0.0
    }
}

/// The pass budget of one `λ` ran out.
struct OutOfPasses;

/// State of the path fit.
struct Solver<'a> {
    columns: &'a [Vec<u32>],
    /// `y_i` as 0.0 / 1.0.
    targets: &'a [f64],
    /// `w_i / Σw`.
    weights: Vec<f64>,
    alpha: f64,
    tolerance: f64,
    max_passes: usize,
    max_nonzero: usize,
    /// Raw positive and negative weight totals (for the intercept-only model).
    positive: f64,
    negative: f64,

    intercept: f64,
    /// Dense coefficients, one per feature.
    beta: Vec<f64>,
    /// `η_i` of the current `(intercept, beta)`.
    eta: Vec<f64>,
    /// Scratch `η` for line-search trials.
    eta_trial: Vec<f64>,
    /// IRLS working weights `w_i p_i (1 − p_i)` (clamped `p`), normalised.
    work: Vec<f64>,
    /// Working residuals `v_i (z_i − η̃_i)`, where `η̃` is the linear predictor of the coefficients
    /// being updated by coordinate descent.
    resid: Vec<f64>,
    sum_work: f64,
    /// `Σ resid_i` (of the stored residuals).
    sum_resid: f64,
    /// Intercept change not yet applied to `resid`: the true working residual of row `i` is
    /// `resid_i − work_i · shift`.
    shift: f64,
    /// Raw curvature of each candidate coordinate: `Σ_{i in column j} work_i`.
    curvature: Vec<f64>,
    /// Gradient of the (unpenalised) loss at the last fitted point, one per feature.
    gradient: Vec<f64>,
    /// Candidate coordinates at the current `λ` (ascending), and membership.
    strong: Vec<u32>,
    in_strong: Vec<bool>,
    /// Coordinates that have ever been nonzero, in order of entry, and membership.
    ever: Vec<u32>,
    in_ever: Vec<bool>,
    /// Coefficients of `strong` before the current IRLS step (parallel to `strong`).
    beta_before: Vec<f64>,
    /// Coefficients of `strong` proposed by the current IRLS step (parallel to `strong`).
    beta_proposed: Vec<f64>,
    /// A fixed log-odds per row added to the model (glmnet's `offset`), if any.
    offset: Option<&'a [f64]>,
}

impl<'a> Solver<'a> {
    fn new(
        design: &'a Design,
        targets: &'a [f64],
        weights: Vec<f64>,
        options: &PathOptions,
        positive: f64,
        negative: f64,
    ) -> Self {
        let rows = design.rows;
        let features = design.columns.len();
        Solver {
            columns: &design.columns,
            targets,
            weights,
            alpha: options.l1_ratio,
            tolerance: options.tolerance * null_loss(positive, negative),
            max_passes: options.max_passes,
            max_nonzero: options.max_nonzero,
            positive,
            negative,
            intercept: 0.0,
            beta: vec![0.0; features],
            eta: vec![0.0; rows],
            eta_trial: vec![0.0; rows],
            work: vec![0.0; rows],
            resid: vec![0.0; rows],
            sum_work: 0.0,
            sum_resid: 0.0,
            shift: 0.0,
            curvature: vec![0.0; features],
            gradient: vec![0.0; features],
            strong: Vec::new(),
            in_strong: vec![false; features],
            ever: Vec::new(),
            in_ever: vec![false; features],
            beta_before: Vec::new(),
            beta_proposed: Vec::new(),
            offset: None,
        }
    }

    fn run(&mut self, schedule: Schedule<'_>) -> PathFit {
        // The intercept-only model, fitted exactly: logit of the weighted positive rate; with an
        // offset, by Newton's method from there (the loss is convex in the intercept).
        self.intercept = self.positive.ln() - self.negative.ln();
        if let Some(offset) = self.offset {
            for _ in 0..100 {
                let (mut g, mut h) = (0.0, 0.0);
                for ((&o, &w), &y) in offset.iter().zip(&self.weights).zip(self.targets) {
                    let p = sigmoid(self.intercept + o);
                    g += w * (p - y);
                    h += w * p * (1.0 - p);
                }
                if h.is_nan() || h <= 0.0 || g.abs() < 1e-14 {
                    break;
                }
                self.intercept -= (g / h).clamp(-10.0, 10.0);
            }
        }
        self.fill_eta(false);
        self.compute_gradient();
        let max_gradient = self.gradient.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        let intercept = self.intercept;
        let intercept_only = move |lambda: f64| PathPoint {
            lambda,
            intercept,
            coefficients: Vec::new(),
        };
        if max_gradient.is_nan() || max_gradient <= ZERO_GRADIENT {
            // The intercept-only model is optimal at every λ.
            let points = match schedule {
                Schedule::Geometric { .. } => vec![intercept_only(0.0)],
                Schedule::Given(lambdas) => lambdas.iter().map(|&l| intercept_only(l)).collect(),
            };
            return PathFit {
                points,
                lambda_max: 0.0,
                end: PathEnd::Completed,
            };
        }
        let lambda_max = max_gradient / self.alpha;
        let (count, mut points) = match schedule {
            Schedule::Geometric { count, .. } => (count, vec![intercept_only(lambda_max)]),
            Schedule::Given(lambdas) => (lambdas.len(), Vec::new()),
        };
        // The λ of the last fitted point (for the strong rule), at most λ_max.
        let mut previous_lambda = lambda_max;
        for k in points.len()..count {
            let lambda = match schedule {
                Schedule::Geometric { count, min_ratio } => {
                    let exponent = k as f64 / (count - 1) as f64;
                    lambda_max * min_ratio.powf(exponent)
                }
                Schedule::Given(lambdas) => lambdas[k],
            };
            if lambda >= lambda_max {
                // Only `Given` gets here, before any coefficient is nonzero.
                points.push(intercept_only(lambda));
                continue;
            }
            if self.fit_lambda(lambda, previous_lambda).is_err() {
                return PathFit {
                    points,
                    lambda_max,
                    end: PathEnd::NotConverged { lambda },
                };
            }
            let point = self.point(lambda);
            if point.coefficients.len() > self.max_nonzero {
                return PathFit {
                    points,
                    lambda_max,
                    end: PathEnd::TooManyNonzero {
                        lambda,
                        nonzero: point.coefficients.len(),
                    },
                };
            }
            points.push(point);
            previous_lambda = lambda;
        }
        PathFit {
            points,
            lambda_max,
            end: PathEnd::Completed,
        }
    }

    /// The current model as a path point.
    fn point(&self, lambda: f64) -> PathPoint {
        let mut coefficients: Vec<(u32, f64)> = self
            .ever
            .iter()
            .filter_map(|&j| {
                let b = self.beta[j as usize];
                (b != 0.0).then_some((j, b))
            })
            .collect();
        coefficients.sort_unstable_by_key(|&(j, _)| j);
        PathPoint {
            lambda,
            intercept: self.intercept,
            coefficients,
        }
    }

    /// `gradient_j = Σ_{i in column j} w_i (p_i − y_i)` at the current `eta`.
    fn compute_gradient(&mut self) {
        // `resid` is free between IRLS steps; use it for `w_i (p_i − y_i)`.
        for ((r, &eta), (&w, &y)) in self
            .resid
            .iter_mut()
            .zip(&self.eta)
            .zip(self.weights.iter().zip(self.targets))
        {
            *r = w * (sigmoid(eta) - y);
        }
        for (g, column) in self.gradient.iter_mut().zip(self.columns) {
            *g = column.iter().map(|&i| self.resid[i as usize]).sum();
        }
    }

    /// Fits the point at `lambda`, warm-started from the current model.
    fn fit_lambda(&mut self, lambda: f64, previous_lambda: f64) -> Result<(), OutOfPasses> {
        // Sequential strong rule: keep j if |g_j(λ_prev)| ≥ α (2λ − λ_prev), plus every coordinate
        // that has ever been nonzero.
        let cutoff = self.alpha * (2.0 * lambda - previous_lambda);
        self.strong.clear();
        self.in_strong.fill(false);
        for (j, (&g, &ever)) in self.gradient.iter().zip(&self.in_ever).enumerate() {
            if ever || g.abs() >= cutoff {
                self.strong.push(j as u32);
                self.in_strong[j] = true;
            }
        }
        let mut passes = 0usize;
        loop {
            self.irls(lambda, &mut passes)?;
            // KKT check of the discarded coordinates with the exact gradient.
            self.compute_gradient();
            let threshold = lambda * self.alpha;
            let mut violated = false;
            for (j, &g) in self.gradient.iter().enumerate() {
                if !self.in_strong[j] && g.abs() > threshold {
                    self.in_strong[j] = true;
                    self.strong.push(j as u32);
                    violated = true;
                }
            }
            if !violated {
                return Ok(());
            }
            self.strong.sort_unstable();
        }
    }

    /// IRLS with coordinate descent over `strong` until an IRLS step is below the tolerance.
    fn irls(&mut self, lambda: f64, passes: &mut usize) -> Result<(), OutOfPasses> {
        let mut objective = self.objective(lambda, false);
        loop {
            self.prepare_quadratic();
            self.beta_before.clear();
            self.beta_before
                .extend(self.strong.iter().map(|&j| self.beta[j as usize]));
            let intercept_before = self.intercept;

            self.descend(lambda, passes)?;

            // Size of the proposed step, in the convergence metric. The intercept's change is
            // measured in the centred parametrisation `η = a + Σ b_j (x_j − m_j)` that coordinate
            // descent uses: `Δa = Δb0 + Σ m_j Δb_j`.
            let mut change = 0.0f64;
            let mut centred_intercept = self.intercept - intercept_before;
            for (&j, &before) in self.strong.iter().zip(&self.beta_before) {
                let j = j as usize;
                let d = self.beta[j] - before;
                if d != 0.0 {
                    centred_intercept += self.curvature[j] / self.sum_work * d;
                    change = change.max(self.centred_curvature(j) * d * d);
                }
            }
            change = change.max(self.sum_work * centred_intercept * centred_intercept);
            if change < self.tolerance {
                self.objective(lambda, true);
                std::mem::swap(&mut self.eta, &mut self.eta_trial);
                return Ok(());
            }

            // Step halving on the exact objective.
            self.beta_proposed.clear();
            self.beta_proposed
                .extend(self.strong.iter().map(|&j| self.beta[j as usize]));
            let intercept_proposed = self.intercept;
            let mut step = 1.0f64;
            let mut accepted = false;
            for _ in 0..=MAX_HALVINGS {
                if step < 1.0 {
                    for ((&j, &before), &proposed) in self
                        .strong
                        .iter()
                        .zip(&self.beta_before)
                        .zip(&self.beta_proposed)
                    {
                        self.beta[j as usize] = before + step * (proposed - before);
                    }
                    self.intercept =
                        intercept_before + step * (intercept_proposed - intercept_before);
                }
                let trial = self.objective(lambda, true);
                if trial <= objective {
                    objective = trial;
                    std::mem::swap(&mut self.eta, &mut self.eta_trial);
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                // No descent along the Newton direction at any step size: the current point is
                // optimal to rounding. Keep it.
                for (&j, &before) in self.strong.iter().zip(&self.beta_before) {
                    self.beta[j as usize] = before;
                }
                self.intercept = intercept_before;
                return Ok(());
            }
        }
    }

    /// Sets `eta` (or `eta_trial`) to the intercept plus the offset, before coefficients.
    fn fill_eta(&mut self, trial: bool) {
        let eta = if trial {
            &mut self.eta_trial
        } else {
            &mut self.eta
        };
        eta.fill(self.intercept);
        if let Some(offset) = self.offset {
            for (e, &o) in eta.iter_mut().zip(offset) {
                *e += o;
            }
        }
    }

    /// The penalised objective of the current `(intercept, beta)`. With `trial`, `η` is recomputed
    /// into `eta_trial` first and the objective is of `eta_trial`; otherwise of `eta`.
    fn objective(&mut self, lambda: f64, trial: bool) -> f64 {
        if trial {
            self.fill_eta(true);
            for &j in &self.ever {
                let b = self.beta[j as usize];
                if b != 0.0 {
                    for &i in &self.columns[j as usize] {
                        self.eta_trial[i as usize] += b;
                    }
                }
            }
        }
        let eta = if trial { &self.eta_trial } else { &self.eta };
        let mut loss = 0.0;
        for ((&e, &w), &y) in eta.iter().zip(&self.weights).zip(self.targets) {
            if w != 0.0 {
                loss += w * (softplus(e) - y * e);
            }
        }
        let (mut l1, mut l2) = (0.0, 0.0);
        for &j in &self.ever {
            let b = self.beta[j as usize];
            l1 += b.abs();
            l2 += b * b;
        }
        loss + lambda * (self.alpha * l1 + 0.5 * (1.0 - self.alpha) * l2)
    }

    /// Quadratic approximation of the loss at the current `eta`: working weights, residuals and
    /// the curvature of the candidate coordinates.
    fn prepare_quadratic(&mut self) {
        let (mut sum_work, mut sum_resid) = (0.0, 0.0);
        for (((v, r), &eta), (&w, &y)) in self
            .work
            .iter_mut()
            .zip(self.resid.iter_mut())
            .zip(&self.eta)
            .zip(self.weights.iter().zip(self.targets))
        {
            let p = sigmoid(eta);
            let clamped = p.clamp(PMIN, 1.0 - PMIN);
            *v = w * clamped * (1.0 - clamped);
            *r = w * (y - p);
            sum_work += *v;
            sum_resid += *r;
        }
        self.sum_work = sum_work;
        self.sum_resid = sum_resid;
        self.shift = 0.0;
        for &j in &self.strong {
            let column = &self.columns[j as usize];
            self.curvature[j as usize] = column.iter().map(|&i| self.work[i as usize]).sum();
        }
    }

    /// Coordinate descent on the quadratic approximation, glmnet's active-set scheme: a pass over
    /// all candidates; if it moved anything, passes over the ever-active set until they converge,
    /// then another full pass.
    fn descend(&mut self, lambda: f64, passes: &mut usize) -> Result<(), OutOfPasses> {
        loop {
            self.count_pass(passes)?;
            if self.pass(lambda, false) < self.tolerance {
                return Ok(());
            }
            loop {
                self.count_pass(passes)?;
                if self.pass(lambda, true) < self.tolerance {
                    break;
                }
            }
        }
    }

    fn count_pass(&self, passes: &mut usize) -> Result<(), OutOfPasses> {
        if *passes >= self.max_passes {
            return Err(OutOfPasses);
        }
        *passes += 1;
        Ok(())
    }

    /// The curvature of coordinate `j` along its centred direction `x_j − m_j` (the column minus
    /// its working-weighted mean `m_j = c_j / Σv`, which leaves the linear predictor's weighted mean
    /// alone): `c_j − c_j² / Σv`, with `c_j` the curvature of the raw column.
    fn centred_curvature(&self, j: usize) -> f64 {
        let c = self.curvature[j];
        c - c * (c / self.sum_work)
    }

    /// One cyclic pass over the ever-active (`active_only`) or the candidate coordinates, then the
    /// intercept. Returns the largest `curvature · change²`.
    ///
    /// Each coordinate moves along its centred column `x_j − m_j` (as glmnet centres the
    /// predictors when it fits an intercept): the coefficient changes by `δ` and the intercept by
    /// `−m_j δ`, which minimises the quadratic jointly over the coefficient and the intercept.
    /// Binary columns are not centred, so uncentred steps would be undone by the intercept step
    /// and coordinate descent would crawl. The all-rows part of the residual update is kept in
    /// `shift` (the true residual is `resid_i − work_i · shift`), so a step costs the rows of its
    /// column only.
    fn pass(&mut self, lambda: f64, active_only: bool) -> f64 {
        let l1 = lambda * self.alpha;
        let l2 = lambda * (1.0 - self.alpha);
        let total_work = self.sum_work;
        let mut max_change = 0.0f64;
        if total_work.is_nan() || total_work <= 0.0 {
            return max_change;
        }
        let count = if active_only {
            self.ever.len()
        } else {
            self.strong.len()
        };
        for k in 0..count {
            let j = if active_only {
                self.ever[k]
            } else {
                self.strong[k]
            } as usize;
            let raw = self.curvature[j];
            let mean = raw / total_work;
            let curvature = self.centred_curvature(j);
            let old = self.beta[j];
            let new = if curvature > CENTRED_FLOOR * raw {
                let column = &self.columns[j];
                let stored: f64 = column.iter().map(|&i| self.resid[i as usize]).sum();
                let in_column = stored - self.shift * raw;
                let everywhere = self.sum_resid - self.shift * total_work;
                let gradient = in_column - mean * everywhere;
                soft_threshold(gradient + curvature * old, l1) / (curvature + l2)
            } else {
                // The feature is in no row with positive weight, or in all of them (then it is the
                // intercept): it cannot lower the loss, and the penalty wants it at 0.
                0.0
            };
            if new != old {
                let delta = new - old;
                for &i in &self.columns[j] {
                    let i = i as usize;
                    self.resid[i] -= self.work[i] * delta;
                }
                self.sum_resid -= raw * delta;
                self.shift -= mean * delta;
                self.intercept -= mean * delta;
                self.beta[j] = new;
                max_change = max_change.max(curvature * delta * delta);
                if !self.in_ever[j] {
                    self.in_ever[j] = true;
                    self.ever.push(j as u32);
                }
            }
        }
        // The intercept: exact minimiser of the quadratic along it.
        let delta = (self.sum_resid - self.shift * total_work) / total_work;
        if delta != 0.0 {
            self.intercept += delta;
            self.shift += delta;
            max_change = max_change.max(total_work * delta * delta);
        }
        max_change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KKT slack for fits at tolerance 1e-14 (see [`tight`]): a converged coordinate's gradient is
    /// off by up to about `sqrt(c_j · tolerance · L0) ≤ sqrt(1e-14 · ln 2 / 4) ≈ 4e-8`.
    const TIGHT: f64 = 1e-7;

    /// splitmix64: a tiny seeded generator for random designs.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }

    struct Problem {
        design: Design,
        labels: Vec<bool>,
        weights: Option<Vec<f64>>,
    }

    /// Random binary design; labels from a logistic model on the first few features plus noise.
    fn random_problem(
        seed: u64,
        rows: usize,
        features: usize,
        density: f64,
        weighted: bool,
    ) -> Problem {
        let mut rng = Rng(seed);
        let mut columns = vec![Vec::new(); features];
        let mut eta = vec![-0.3; rows];
        let truth: Vec<f64> = (0..features)
            .map(|j| {
                if j < 4 {
                    [2.0, -1.5, 1.0, -0.7][j]
                } else {
                    0.0
                }
            })
            .collect();
        for (i, eta) in eta.iter_mut().enumerate() {
            for (column, &effect) in columns.iter_mut().zip(&truth) {
                if rng.uniform() < density {
                    column.push(i as u32);
                    *eta += effect;
                }
            }
        }
        let mut labels: Vec<bool> = eta.iter().map(|&e| rng.uniform() < sigmoid(e)).collect();
        labels[0] = true;
        labels[1] = false;
        let weights = weighted.then(|| (0..rows).map(|_| 0.5 + 1.5 * rng.uniform()).collect());
        Problem {
            design: Design { rows, columns },
            labels,
            weights,
        }
    }

    /// Dense 0/1 matrix of a design, for computing things from the definitions.
    fn dense(design: &Design) -> Vec<Vec<f64>> {
        let mut x = vec![vec![0.0; design.columns.len()]; design.rows];
        for (j, column) in design.columns.iter().enumerate() {
            for &i in column {
                x[i as usize][j] = 1.0;
            }
        }
        x
    }

    /// Gradient of `(1/Σw) Σ w_i logloss_i` w.r.t. (intercept, coefficients) at `point`, computed
    /// from the definition with a dense matrix.
    fn loss_gradient(problem: &Problem, point: &PathPoint) -> (f64, Vec<f64>) {
        let x = dense(&problem.design);
        let features = problem.design.columns.len();
        let mut beta = vec![0.0; features];
        for &(j, b) in &point.coefficients {
            beta[j as usize] = b;
        }
        let weights: Vec<f64> = match &problem.weights {
            Some(w) => w.clone(),
            None => vec![1.0; problem.design.rows],
        };
        let total: f64 = weights.iter().sum();
        let mut g0 = 0.0;
        let mut g = vec![0.0; features];
        for i in 0..problem.design.rows {
            let eta: f64 = point.intercept + (0..features).map(|j| x[i][j] * beta[j]).sum::<f64>();
            let p = 1.0 / (1.0 + (-eta).exp());
            let y = if problem.labels[i] { 1.0 } else { 0.0 };
            let r = weights[i] * (p - y) / total;
            g0 += r;
            for j in 0..features {
                g[j] += r * x[i][j];
            }
        }
        (g0, g)
    }

    /// Largest violation of the KKT conditions at `point`: (intercept gradient, nonzero
    /// coefficients' stationarity, zero coefficients' subgradient bound), all absolute.
    fn kkt_violations(problem: &Problem, point: &PathPoint, alpha: f64) -> (f64, f64, f64) {
        let (g0, g) = loss_gradient(problem, point);
        let lambda = point.lambda;
        let (mut nonzero, mut zero) = (0.0f64, 0.0f64);
        for (j, &gj) in g.iter().enumerate() {
            let b = point.coefficient(j as u32);
            if b != 0.0 {
                let stationarity = gj + lambda * (alpha * b.signum() + (1.0 - alpha) * b);
                nonzero = nonzero.max(stationarity.abs());
            } else {
                zero = zero.max(gj.abs() - lambda * alpha);
            }
        }
        (g0.abs(), nonzero, zero)
    }

    fn fit_problem(problem: &Problem, options: &PathOptions) -> Result<PathFit, ModelError> {
        fit_path_with_status(
            &problem.design,
            &problem.labels,
            problem.weights.as_deref(),
            options,
        )
    }

    /// Options with a tolerance tight enough for [`TIGHT`] KKT checks.
    fn tight(alpha: f64) -> PathOptions {
        PathOptions {
            l1_ratio: alpha,
            lambdas: 30,
            tolerance: 1e-14,
            ..PathOptions::default()
        }
    }

    /// A path point as bits: `(lambda, intercept, [(feature, coefficient)])`.
    type PointBits = (u64, u64, Vec<(u32, u64)>);

    fn bits(path: &[PathPoint]) -> Vec<PointBits> {
        path.iter()
            .map(|p| {
                (
                    p.lambda.to_bits(),
                    p.intercept.to_bits(),
                    p.coefficients
                        .iter()
                        .map(|&(j, b)| (j, b.to_bits()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn kkt_holds_at_every_point_of_random_problems() {
        let mut checked_nonzero = 0usize;
        for seed in 0..12u64 {
            for &alpha in &[1.0, 0.5, 0.1] {
                let problem =
                    random_problem(seed, 80 + 10 * seed as usize, 25, 0.15, seed % 2 == 1);
                let fit = fit_problem(&problem, &tight(alpha)).unwrap();
                assert_eq!(fit.end, PathEnd::Completed);
                assert_eq!(fit.points.len(), 30);
                for point in &fit.points {
                    let (g0, nonzero, zero) = kkt_violations(&problem, point, alpha);
                    assert!(
                        g0 < TIGHT,
                        "seed {seed} alpha {alpha} lambda {}: intercept gradient {g0}",
                        point.lambda
                    );
                    assert!(
                        nonzero < TIGHT,
                        "seed {seed} alpha {alpha} lambda {}: stationarity {nonzero}",
                        point.lambda
                    );
                    assert!(zero < TIGHT, "seed {seed} alpha {alpha} lambda {}: zero coefficient has |g| - λα = {zero}", point.lambda);
                    checked_nonzero += point.nonzero();
                }
            }
        }
        assert!(
            checked_nonzero > 1000,
            "too few nonzero coefficients checked: {checked_nonzero}"
        );
    }

    #[test]
    fn kkt_holds_approximately_with_default_tolerance() {
        for seed in 20..26u64 {
            let problem = random_problem(seed, 300, 60, 0.08, seed % 2 == 0);
            let options = PathOptions::default();
            let fit = fit_problem(&problem, &options).unwrap();
            assert_eq!(fit.points.len(), 60);
            for point in &fit.points {
                let (g0, nonzero, zero) = kkt_violations(&problem, point, 1.0);
                // After convergence each coordinate's change c_j·Δb_j² is below tolerance·L0,
                // so its gradient is off by about c_j·|Δb_j| ≤ sqrt(c_j·tolerance·L0), with
                // c_j ≤ 1/4 and L0 ≤ ln 2.
                let slack = (0.25 * options.tolerance * std::f64::consts::LN_2).sqrt();
                assert!(
                    g0 < slack && nonzero < slack && zero < slack,
                    "seed {seed} lambda {}: {g0} {nonzero} {zero}",
                    point.lambda
                );
            }
        }
    }

    #[test]
    fn lambda_max_point_is_intercept_only_and_exact() {
        for &alpha in &[1.0, 0.3] {
            let problem = random_problem(7, 200, 30, 0.1, true);
            let fit = fit_problem(&problem, &tight(alpha)).unwrap();
            let first = &fit.points[0];
            assert!(first.coefficients.is_empty());
            assert_eq!(first.lambda, fit.lambda_max);
            let weights = problem.weights.as_ref().unwrap();
            let positive: f64 = weights
                .iter()
                .zip(&problem.labels)
                .filter(|(_, &l)| l)
                .map(|(w, _)| w)
                .sum();
            let negative: f64 = weights
                .iter()
                .zip(&problem.labels)
                .filter(|(_, &l)| !l)
                .map(|(w, _)| w)
                .sum();
            assert!((first.intercept - (positive / negative).ln()).abs() < 1e-12);
            let (g0, g) = loss_gradient(&problem, first);
            assert!(g0.abs() < 1e-12);
            let max = g.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!((fit.lambda_max - max / alpha).abs() < 1e-12 * fit.lambda_max);
            // Just below λ_max a coefficient is nonzero: λ_max is the smallest all-zero λ.
            let options = PathOptions {
                lambdas: 2,
                min_ratio: 0.999,
                ..tight(alpha)
            };
            let near = fit_path(
                &problem.design,
                &problem.labels,
                problem.weights.as_deref(),
                &options,
            )
            .unwrap();
            assert_eq!(near.len(), 2);
            assert!(near[1].nonzero() >= 1);
            assert!(near[1].lambda < near[0].lambda);
        }
    }

    #[test]
    fn lambdas_are_geometric_and_nonzero_count_grows() {
        let problem = random_problem(3, 400, 40, 0.1, false);
        let path = fit_path(
            &problem.design,
            &problem.labels,
            None,
            &PathOptions::default(),
        )
        .unwrap();
        assert_eq!(path.len(), 60);
        let ratio = path[1].lambda / path[0].lambda;
        for pair in path.windows(2) {
            assert!((pair[1].lambda / pair[0].lambda - ratio).abs() < 1e-12);
        }
        assert!((path[59].lambda / path[0].lambda - 1e-3).abs() < 1e-12);
        let counts: Vec<usize> = path.iter().map(PathPoint::nonzero).collect();
        assert_eq!(counts[0], 0);
        assert!(counts[59] >= 10, "{counts:?}");
        assert!(
            counts[59] > counts[30] && counts[30] > counts[1],
            "{counts:?}"
        );
        for point in &path {
            assert!(point.coefficients.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(point
                .coefficients
                .iter()
                .all(|&(_, b)| b != 0.0 && b.is_finite()));
        }
    }

    #[test]
    fn perfect_indicator_enters_first() {
        let mut problem = random_problem(11, 300, 20, 0.2, false);
        // Feature 13 becomes the indicator of the positive class (not feature 0, so that the
        // coordinate order cannot explain the result); features 0..4 are still informative.
        let positives: Vec<u32> = (0..300u32)
            .filter(|&i| problem.labels[i as usize])
            .collect();
        problem.design.columns[13] = positives;
        let path = fit_path(
            &problem.design,
            &problem.labels,
            None,
            &PathOptions::default(),
        )
        .unwrap();
        let first = path.iter().find(|p| p.nonzero() > 0).unwrap();
        assert_eq!(first.coefficients.len(), 1, "{:?}", first.coefficients);
        assert_eq!(first.coefficients[0].0, 13);
        assert!(first.coefficients[0].1 > 0.0);
        // And it stays the largest coefficient along the path.
        let last = path.last().unwrap();
        let largest = last
            .coefficients
            .iter()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap();
        assert_eq!(largest.0, 13);
    }

    #[test]
    fn max_nonzero_stops_the_path() {
        let problem = random_problem(5, 300, 40, 0.1, true);
        let full = fit_problem(&problem, &PathOptions::default()).unwrap();
        let options = PathOptions {
            max_nonzero: 3,
            ..PathOptions::default()
        };
        let limited = fit_problem(&problem, &options).unwrap();
        assert!(limited.points.iter().all(|p| p.nonzero() <= 3));
        assert!(limited.points.len() < full.points.len());
        match limited.end {
            PathEnd::TooManyNonzero { lambda, nonzero } => {
                assert!(nonzero > 3);
                let next = &full.points[limited.points.len()];
                assert_eq!(lambda, next.lambda);
                assert_eq!(nonzero, next.nonzero());
            }
            other => panic!("unexpected end {other:?}"),
        }
        // The returned points are exactly the start of the unlimited path.
        assert_eq!(
            bits(&limited.points),
            bits(&full.points[..limited.points.len()])
        );
        // max_nonzero 0 keeps only λ_max.
        let options = PathOptions {
            max_nonzero: 0,
            ..PathOptions::default()
        };
        assert_eq!(fit_problem(&problem, &options).unwrap().points.len(), 1);
    }

    #[test]
    fn weight_two_equals_duplicated_row() {
        let problem = random_problem(9, 150, 20, 0.15, false);
        let doubled: Vec<usize> = (0..150).filter(|i| i % 5 == 0).collect();
        let mut weights = vec![1.0; 150];
        for &i in &doubled {
            weights[i] = 2.0;
        }
        // The same rows, with each doubled row appended once more.
        let rows = 150 + doubled.len();
        let mut columns = problem.design.columns.clone();
        for column in &mut columns {
            let extra: Vec<u32> = doubled
                .iter()
                .enumerate()
                .filter(|(_, &i)| column.binary_search(&(i as u32)).is_ok())
                .map(|(k, _)| (150 + k) as u32)
                .collect();
            column.extend(extra);
        }
        let mut labels = problem.labels.clone();
        labels.extend(doubled.iter().map(|&i| problem.labels[i]));
        let options = tight(0.7);
        let weighted =
            fit_path(&problem.design, &problem.labels, Some(&weights), &options).unwrap();
        let duplicated = fit_path(&Design { rows, columns }, &labels, None, &options).unwrap();
        assert_eq!(weighted.len(), duplicated.len());
        for (a, b) in weighted.iter().zip(&duplicated) {
            assert!((a.lambda - b.lambda).abs() < 1e-12 * a.lambda);
            assert!((a.intercept - b.intercept).abs() < 1e-6);
            assert_eq!(
                a.coefficients.len(),
                b.coefficients.len(),
                "lambda {}",
                a.lambda
            );
            for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
                assert_eq!(x.0, y.0);
                assert!((x.1 - y.1).abs() < 1e-6, "{x:?} {y:?}");
            }
        }
        assert!(weighted.last().unwrap().nonzero() > 5);
        // And weights matter: the unweighted fit differs.
        let unweighted = fit_path(&problem.design, &problem.labels, None, &options).unwrap();
        assert!((unweighted[10].intercept - weighted[10].intercept).abs() > 1e-6);
    }

    #[test]
    fn zero_weight_rows_are_ignored() {
        let problem = random_problem(13, 120, 15, 0.2, false);
        let mut weights = vec![1.0; 120];
        for w in weights.iter_mut().skip(100) {
            *w = 0.0;
        }
        let columns: Vec<Vec<u32>> = problem
            .design
            .columns
            .iter()
            .map(|c| c.iter().copied().filter(|&i| i < 100).collect())
            .collect();
        let options = tight(1.0);
        let zeroed = fit_path(&problem.design, &problem.labels, Some(&weights), &options).unwrap();
        let removed = fit_path(
            &Design { rows: 100, columns },
            &problem.labels[..100],
            None,
            &options,
        )
        .unwrap();
        assert_eq!(zeroed.len(), removed.len());
        for (a, b) in zeroed.iter().zip(&removed) {
            assert!((a.intercept - b.intercept).abs() < 1e-6);
            assert_eq!(a.nonzero(), b.nonzero());
            for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
                assert_eq!(x.0, y.0);
                assert!((x.1 - y.1).abs() < 1e-6);
            }
        }
    }

    /// A constant offset `c` is absorbed by the intercept: the same coefficients at the same
    /// penalties, the intercept lower by `c`. A per-row offset that carries feature 0's true
    /// effect takes that effect out of feature 0's coefficient.
    #[test]
    fn offset_is_absorbed_by_the_intercept_or_the_feature() {
        let problem = random_problem(41, 300, 12, 0.3, false);
        let options = tight(1.0);
        let plain = fit_problem(&problem, &options).unwrap();
        let lambdas: Vec<f64> = plain.points.iter().map(|p| p.lambda).collect();
        let shifted = fit_path_with_offset(
            &problem.design,
            &problem.labels,
            None,
            &vec![0.75; 300],
            &options,
            Some(&lambdas),
        )
        .unwrap();
        assert_eq!(shifted.points.len(), plain.points.len());
        for (a, b) in plain.points.iter().zip(&shifted.points) {
            assert!(
                (a.intercept - 0.75 - b.intercept).abs() < 1e-5,
                "{a:?} {b:?}"
            );
            assert_eq!(a.coefficients.len(), b.coefficients.len());
            for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
                assert_eq!(x.0, y.0);
                assert!((x.1 - y.1).abs() < 1e-5, "{x:?} {y:?}");
            }
        }
        // Feature 0's effect in the offset: at a small penalty its coefficient is near 0,
        // where without the offset it is near its true 2.0.
        let mut offset = vec![0.0; 300];
        for &i in &problem.design.columns[0] {
            offset[i as usize] = plain.points.last().unwrap().coefficient(0);
        }
        let with = fit_path_with_offset(
            &problem.design,
            &problem.labels,
            None,
            &offset,
            &options,
            Some(&lambdas),
        )
        .unwrap();
        let last = with.points.last().unwrap();
        assert!(plain.points.last().unwrap().coefficient(0) > 1.0);
        assert!(last.coefficient(0).abs() < 0.05, "{last:?}");
        let bad = fit_path_with_offset(
            &problem.design,
            &problem.labels,
            None,
            &[0.0; 3],
            &options,
            None,
        );
        assert!(matches!(
            bad,
            Err(ModelError::LengthMismatch { what: "offset", .. })
        ));
    }

    #[test]
    fn runs_are_bit_identical() {
        let problem = random_problem(17, 500, 200, 0.03, true);
        let options = PathOptions {
            l1_ratio: 0.8,
            ..PathOptions::default()
        };
        let a = fit_problem(&problem, &options).unwrap();
        let b = fit_problem(&problem, &options).unwrap();
        assert_eq!(bits(&a.points), bits(&b.points));
        assert_eq!(a.end, b.end);
        assert!(a.points.last().unwrap().nonzero() > 5);
    }

    #[test]
    fn separable_data_converges() {
        // Feature 0 separates the classes exactly; feature 1 is noise.
        let rows = 40;
        let labels: Vec<bool> = (0..rows).map(|i| i % 2 == 0).collect();
        let design = Design {
            rows,
            columns: vec![
                (0..rows as u32).filter(|i| i % 2 == 0).collect(),
                (0..rows as u32).filter(|i| i % 3 == 0).collect(),
            ],
        };
        let problem = Problem {
            design,
            labels,
            weights: None,
        };
        let options = PathOptions {
            lambdas: 40,
            min_ratio: 1e-4,
            tolerance: 1e-14,
            ..PathOptions::default()
        };
        let fit = fit_problem(&problem, &options).unwrap();
        assert_eq!(fit.end, PathEnd::Completed);
        let last = fit.points.last().unwrap();
        assert!(last.coefficient(0) > 5.0, "{last:?}");
        for point in &fit.points {
            let (g0, nonzero, zero) = kkt_violations(&problem, point, 1.0);
            assert!(
                g0 < TIGHT && nonzero < TIGHT && zero < TIGHT,
                "{point:?}: {g0} {nonzero} {zero}"
            );
        }
    }

    #[test]
    fn large_steps_along_the_path_still_converge() {
        // Two points only, the second well below λ_max: the fit at the second starts far from
        // its optimum.
        for seed in 40..52u64 {
            let problem = random_problem(seed, 60, 30, 0.3, seed % 2 == 0);
            for &alpha in &[1.0, 0.5] {
                let options = PathOptions {
                    l1_ratio: alpha,
                    lambdas: 2,
                    min_ratio: 0.03,
                    tolerance: 1e-14,
                    // Nearly separable data at a tight tolerance: CD needs several hundred passes.
                    max_passes: 100_000,
                    ..PathOptions::default()
                };
                let fit = fit_problem(&problem, &options).unwrap();
                assert_eq!(fit.end, PathEnd::Completed, "seed {seed} alpha {alpha}");
                let point = &fit.points[1];
                let (g0, nonzero, zero) = kkt_violations(&problem, point, alpha);
                assert!(
                    g0 < TIGHT && nonzero < TIGHT && zero < TIGHT,
                    "seed {seed} alpha {alpha}: {g0} {nonzero} {zero}"
                );
            }
        }
    }

    #[test]
    fn step_halving_rescues_a_start_far_out() {
        // Start IRLS where the model is far too confident: there the working weights are tiny
        // and an undamped Newton step overshoots wildly (without step halving this test runs out
        // of passes). Step halving must keep the objective decreasing and reach the optimum.
        let problem = random_problem(31, 200, 12, 0.25, false);
        let targets: Vec<f64> = problem
            .labels
            .iter()
            .map(|&l| f64::from(u8::from(l)))
            .collect();
        let positive = targets.iter().sum::<f64>();
        let negative = targets.len() as f64 - positive;
        let weights = vec![1.0 / targets.len() as f64; targets.len()];
        let options = tight(1.0);
        let mut solver = Solver::new(
            &problem.design,
            &targets,
            weights,
            &options,
            positive,
            negative,
        );
        let lambda = 0.01;
        for (j, b) in [(0usize, 8.0), (1, -8.0), (5, 6.0)] {
            solver.beta[j] = b;
            solver.in_ever[j] = true;
            solver.ever.push(j as u32);
        }
        let start = solver.objective(lambda, true);
        std::mem::swap(&mut solver.eta, &mut solver.eta_trial);
        solver.compute_gradient();
        assert!(solver.fit_lambda(lambda, lambda).is_ok());
        let end = solver.objective(lambda, false);
        assert!(end < start, "{end} {start}");
        let point = solver.point(lambda);
        let (g0, nonzero, zero) = kkt_violations(&problem, &point, 1.0);
        assert!(
            g0 < TIGHT && nonzero < TIGHT && zero < TIGHT,
            "{point:?}: {g0} {nonzero} {zero}"
        );
    }

    #[test]
    fn fit_at_given_lambdas() {
        let problem = random_problem(37, 250, 30, 0.12, true);
        let options = PathOptions {
            l1_ratio: 0.6,
            ..tight(0.6)
        };
        let full = fit_problem(&problem, &options).unwrap();
        let lambdas: Vec<f64> = full.points.iter().map(|p| p.lambda).collect();
        // At its own λs, the same fit, bit for bit.
        let again = fit_path_at(
            &problem.design,
            &problem.labels,
            problem.weights.as_deref(),
            &options,
            &lambdas,
        )
        .unwrap();
        assert_eq!(again.end, PathEnd::Completed);
        assert_eq!(again.lambda_max, full.lambda_max);
        assert_eq!(bits(&again.points), bits(&full.points));

        // A "fold": two thirds of the rows, at the full data's λs and some above its λ_max.
        // Point k is at λ k; those at or above the fold's λ_max are intercept-only; all are
        // optimal.
        let keep: Vec<usize> = (0..250).filter(|i| i % 3 != 0).collect();
        let mut position = vec![None; 250];
        for (k, &i) in keep.iter().enumerate() {
            position[i] = Some(k as u32);
        }
        let fold = Problem {
            design: Design {
                rows: keep.len(),
                columns: problem
                    .design
                    .columns
                    .iter()
                    .map(|c| c.iter().filter_map(|&i| position[i as usize]).collect())
                    .collect(),
            },
            labels: keep.iter().map(|&i| problem.labels[i]).collect(),
            weights: problem
                .weights
                .as_ref()
                .map(|w| keep.iter().map(|&i| w[i]).collect()),
        };
        let mut requested = vec![10.0 * full.lambda_max, 2.0 * full.lambda_max];
        requested.extend(&lambdas);
        let fit = fit_path_at(
            &fold.design,
            &fold.labels,
            fold.weights.as_deref(),
            &options,
            &requested,
        )
        .unwrap();
        assert_eq!(fit.end, PathEnd::Completed);
        assert_eq!(fit.points.len(), requested.len());
        for (point, &lambda) in fit.points.iter().zip(&requested) {
            assert_eq!(point.lambda, lambda);
            if lambda >= fit.lambda_max {
                assert!(point.coefficients.is_empty());
            }
            let (g0, nonzero, zero) = kkt_violations(&fold, point, 0.6);
            assert!(
                g0 < TIGHT && nonzero < TIGHT && zero < TIGHT,
                "lambda {lambda}: {g0} {nonzero} {zero}"
            );
        }
        assert!(fit.points.last().unwrap().nonzero() > 5);

        // max_nonzero stops it as it stops fit_path.
        let limited = fit_path_at(
            &problem.design,
            &problem.labels,
            problem.weights.as_deref(),
            &PathOptions {
                max_nonzero: 4,
                ..options
            },
            &lambdas,
        )
        .unwrap();
        assert!(matches!(limited.end, PathEnd::TooManyNonzero { .. }));
        assert_eq!(
            bits(&limited.points),
            bits(&full.points[..limited.points.len()])
        );

        // The λs must be usable; PathOptions::lambdas and min_ratio are ignored.
        let ignored = PathOptions {
            lambdas: 0,
            min_ratio: 0.0,
            ..options
        };
        assert!(fit_path_at(&problem.design, &problem.labels, None, &ignored, &[0.1]).is_ok());
        for bad in [
            vec![],
            vec![0.1, 0.2],
            vec![0.1, 0.0],
            vec![-0.1],
            vec![f64::NAN],
            vec![f64::INFINITY, 0.1],
        ] {
            match fit_path_at(&problem.design, &problem.labels, None, &options, &bad) {
                Err(ModelError::InvalidOption {
                    option: "lambdas", ..
                }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn uninformative_design_gives_the_intercept_only_model() {
        let labels = [true, false, false, true];
        let weights = [1.0, 1.0, 3.0, 1.0];
        for columns in [vec![], vec![vec![], vec![0, 1], vec![0, 1, 2, 3]]] {
            // Feature 1 has (p − y) summing to zero at the intercept-only model; so do the
            // others.
            let design = Design { rows: 4, columns };
            let weights = [1.0, 1.0, 1.0, 1.0];
            let fit =
                fit_path_with_status(&design, &labels, Some(&weights), &PathOptions::default())
                    .unwrap();
            assert_eq!(fit.points.len(), 1);
            assert_eq!(fit.end, PathEnd::Completed);
            assert_eq!(fit.points[0].lambda, 0.0);
            assert!(fit.points[0].intercept.abs() < 1e-15);
            let at = fit_path_at(
                &design,
                &labels,
                Some(&weights),
                &PathOptions::default(),
                &[0.5, 0.1],
            )
            .unwrap();
            assert_eq!(at.points.len(), 2);
            assert_eq!(at.points[1].lambda, 0.1);
            assert!(at.points.iter().all(|p| p.coefficients.is_empty()));
        }
        let design = Design {
            rows: 4,
            columns: vec![vec![1]],
        };
        let path = fit_path(&design, &labels, Some(&weights), &PathOptions::default()).unwrap();
        assert!((path[0].intercept - (2.0f64 / 4.0).ln()).abs() < 1e-15);
        assert!(path.len() > 1);
    }

    #[test]
    fn pass_budget_stops_the_path() {
        let problem = random_problem(19, 200, 30, 0.1, false);
        let options = PathOptions {
            max_passes: 1,
            ..PathOptions::default()
        };
        let fit = fit_problem(&problem, &options).unwrap();
        assert_eq!(fit.points.len(), 1);
        match fit.end {
            PathEnd::NotConverged { lambda } => assert!(lambda < fit.lambda_max),
            other => panic!("unexpected end {other:?}"),
        }
    }

    #[test]
    fn rows_of_and_decision_agree_with_the_dense_model() {
        let problem = random_problem(23, 200, 30, 0.12, false);
        let rows = problem.design.rows_of();
        let x = dense(&problem.design);
        assert_eq!(rows.len(), 200);
        for (i, features) in rows.iter().enumerate() {
            assert!(features.windows(2).all(|w| w[0] < w[1]));
            let expected: Vec<u32> = (0..30u32).filter(|&j| x[i][j as usize] == 1.0).collect();
            assert_eq!(features, &expected);
        }
        let path = fit_path(
            &problem.design,
            &problem.labels,
            None,
            &PathOptions::default(),
        )
        .unwrap();
        let point = path.last().unwrap();
        assert!(point.nonzero() > 3);
        for (i, features) in rows.iter().enumerate() {
            let expected = point.intercept
                + point
                    .coefficients
                    .iter()
                    .map(|&(j, b)| x[i][j as usize] * b)
                    .sum::<f64>();
            assert!((decision(point, features) - expected).abs() < 1e-12);
        }
        assert_eq!(decision(point, &[]), point.intercept);
        // Out-of-range entries are skipped by rows_of rather than panicking.
        let odd = Design {
            rows: 2,
            columns: vec![vec![0, 5], vec![1]],
        };
        assert_eq!(odd.rows_of(), vec![vec![0], vec![1]]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let design = Design {
            rows: 3,
            columns: vec![vec![0], vec![1, 2]],
        };
        let labels = [true, false, true];
        let ok = PathOptions::default();
        let run =
            |design: &Design, labels: &[bool], weights: Option<&[f64]>, options: &PathOptions| {
                fit_path(design, labels, weights, options).unwrap_err()
            };
        assert!(fit_path(&design, &labels, None, &ok).is_ok());

        assert_eq!(
            run(&design, &[true, true, true], None, &ok),
            ModelError::OnlyOneClass { present: true }
        );
        assert_eq!(
            run(&design, &[false, false, false], None, &ok),
            ModelError::OnlyOneClass { present: false }
        );
        assert_eq!(
            run(&design, &labels, Some(&[0.0, 1.0, 0.0]), &ok),
            ModelError::OnlyOneClass { present: false },
        );
        assert!(run(&design, &[false; 3], None, &ok)
            .to_string()
            .contains("only the negative class"));
        assert_eq!(
            run(&design, &labels[..2], None, &ok),
            ModelError::LengthMismatch {
                what: "labels",
                expected: 3,
                found: 2
            },
        );
        assert_eq!(
            run(&design, &labels, Some(&[1.0; 4]), &ok),
            ModelError::LengthMismatch {
                what: "sample_weights",
                expected: 3,
                found: 4
            },
        );
        assert_eq!(run(&Design::default(), &[], None, &ok), ModelError::NoRows);
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            match run(&design, &labels, Some(&[1.0, bad, 1.0]), &ok) {
                ModelError::InvalidWeight { row: 1, .. } => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            run(&design, &labels, Some(&[0.0; 3]), &ok),
            ModelError::InvalidTotalWeight { .. }
        ));
        assert!(matches!(
            run(&design, &labels, Some(&[f64::MAX, f64::MAX, 1.0]), &ok),
            ModelError::InvalidTotalWeight { .. }
        ));
        for (l1_ratio, lambdas, min_ratio, tolerance, max_passes, option) in [
            (0.0, 60, 1e-3, 1e-7, 1000, "l1_ratio"),
            (1.5, 60, 1e-3, 1e-7, 1000, "l1_ratio"),
            (f64::NAN, 60, 1e-3, 1e-7, 1000, "l1_ratio"),
            (1.0, 0, 1e-3, 1e-7, 1000, "lambdas"),
            (1.0, 60, 0.0, 1e-7, 1000, "min_ratio"),
            (1.0, 60, 2.0, 1e-7, 1000, "min_ratio"),
            (1.0, 60, 1e-3, 0.0, 1000, "tolerance"),
            (1.0, 60, 1e-3, f64::INFINITY, 1000, "tolerance"),
            (1.0, 60, 1e-3, 1e-7, 0, "max_passes"),
        ] {
            let options = PathOptions {
                l1_ratio,
                lambdas,
                min_ratio,
                tolerance,
                max_passes,
                ..ok
            };
            match run(&design, &labels, None, &options) {
                ModelError::InvalidOption { option: o, .. } => assert_eq!(o, option),
                other => panic!("{option}: {other:?}"),
            }
        }
        for (columns, row, problem) in [
            (vec![vec![0], vec![3]], 3, DesignProblem::RowOutOfRange),
            (vec![vec![2, 1]], 1, DesignProblem::NotStrictlyAscending),
            (vec![vec![1, 1]], 1, DesignProblem::NotStrictlyAscending),
        ] {
            let column = columns.len() - 1;
            let bad = Design { rows: 3, columns };
            assert_eq!(
                run(&bad, &labels, None, &ok),
                ModelError::InvalidDesign {
                    column,
                    row,
                    problem
                }
            );
        }
    }

    #[test]
    fn medium_problem_size_check() {
        // ~1,500 rows × 4,000 sparse features: the path completes, stays sparse, and the last
        // point satisfies the KKT conditions.
        let rows = 1500;
        let features = 4000;
        let mut rng = Rng(99);
        let mut columns = vec![Vec::new(); features];
        let mut labels = Vec::with_capacity(rows);
        for i in 0..rows {
            let mut eta = -1.0;
            for _ in 0..15 {
                let j = if rng.uniform() < 0.3 {
                    rng.below(50)
                } else {
                    rng.below(features)
                };
                if columns[j].last() != Some(&(i as u32)) {
                    columns[j].push(i as u32);
                    if j < 10 {
                        eta += if j % 2 == 0 { 1.0 } else { -1.0 };
                    }
                }
            }
            labels.push(rng.uniform() < sigmoid(eta));
        }
        let problem = Problem {
            design: Design { rows, columns },
            labels,
            weights: None,
        };
        let fit = fit_problem(&problem, &PathOptions::default()).unwrap();
        assert_eq!(fit.end, PathEnd::Completed);
        assert_eq!(fit.points.len(), 60);
        let last = fit.points.last().unwrap();
        assert!(
            last.nonzero() > 20 && last.nonzero() < features / 2,
            "{}",
            last.nonzero()
        );
        let (g0, nonzero, zero) = kkt_violations(&problem, last, 1.0);
        let slack = (0.25 * PathOptions::default().tolerance * std::f64::consts::LN_2).sqrt();
        assert!(
            g0 < slack && nonzero < slack && zero < slack,
            "{g0} {nonzero} {zero} {}",
            last.lambda
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Arbitrary small inputs, valid or not, never panic; valid ones satisfy the KKT
            /// conditions.
            #[test]
            fn never_panics_and_fits_are_optimal(
                rows in 0usize..16,
                columns in prop::collection::vec(prop::collection::vec(0u32..18, 0..10), 0..8),
                labels in prop::collection::vec(any::<bool>(), 0..17),
                weights in prop::option::of(prop::collection::vec(
                    prop_oneof![1 => Just(0.0), 6 => 0.1f64..10.0, 1 => Just(f64::NAN)],
                    0..17,
                )),
                alpha in prop_oneof![Just(1.0), 0.05f64..1.0],
                sanitize in prop::bool::weighted(0.8),
            ) {
                // Raw inputs are often invalid (unsorted or out-of-range columns, NaN weights,
                // lengths that do not match); sanitised ones are valid apart from the classes.
                let mut columns = columns;
                let mut weights = weights;
                if sanitize {
                    for column in &mut columns {
                        column.retain(|&i| (i as usize) < rows);
                        column.sort_unstable();
                        column.dedup();
                    }
                    weights = weights.map(|w| {
                        w.into_iter()
                            .map(|x| if x.is_nan() { 1.0 } else { x })
                            .chain(std::iter::repeat(1.0))
                            .take(rows)
                            .collect()
                    });
                }
                let labels: Vec<bool> = labels.into_iter().cycle().take(rows).collect();
                let design = Design { rows, columns };
                let options = PathOptions { l1_ratio: alpha, lambdas: 12, min_ratio: 1e-2, tolerance: 1e-14, ..PathOptions::default() };
                let problem = Problem { design, labels, weights };
                let _ = problem.design.rows_of();
                if let Ok(fit) = fit_problem(&problem, &options) {
                    for point in &fit.points {
                        prop_assert!(point.intercept.is_finite());
                        let (g0, nonzero, zero) = kkt_violations(&problem, point, alpha);
                        prop_assert!(g0 < TIGHT && nonzero < TIGHT && zero < TIGHT, "{:?}: {} {} {}", point, g0, nonzero, zero);
                    }
                }
            }
        }
    }
}
