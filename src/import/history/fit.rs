//! A trend and a daily swing fitted to one series of pod counts.
//!
//! The model is `trend(t) + c·sin(ωt) + d·cos(ωt)` with ω one turn a day, and the trend either
//! linear (`a + b·t`, fitted on the counts) or compounding (`exp(a + b·t)`, the whole model
//! fitted on the logarithm of the counts, so its swing is a fraction of the trend). Both are
//! least squares in four columns, solved by nalgebra's SVD so that a short or badly spread
//! series gives the minimum-norm answer instead of a singular matrix. Timestamps need not be
//! regular: gaps only remove rows.
//!
//! Restarts of the exporter and counter resets show up as points far off the curve (often
//! 0). They are removed by refitting: points whose residual is beyond [`REJECT_MADS`] robust
//! standard deviations (1.4826 × the median absolute deviation) are dropped and the model is
//! fitted again, until nothing more is dropped. Which trend is kept is decided on the
//! original scale, over the points both kept: the higher R², linear on a tie.

use std::f64::consts::PI;

use nalgebra::{DMatrix, DVector};

/// Residuals beyond this many robust standard deviations are outliers.
pub const REJECT_MADS: f64 = 4.0;
/// Rounds of dropping and refitting at most.
const MAX_ROUNDS: usize = 5;
/// The compounding trend must beat the linear one's R² by this much to be kept: a straight
/// line is the simpler story.
const PREFER_LINEAR_BY: f64 = 1e-3;

/// The shape of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendKind {
    /// `a + b·t`.
    Linear,
    /// `exp(a + b·t)`.
    Compounding,
}

impl TrendKind {
    /// The word used in comments.
    pub fn word(self) -> &'static str {
        match self {
            TrendKind::Linear => "linear",
            TrendKind::Compounding => "compounding",
        }
    }
}

/// A fitted series. Times are in days; 0 is the reference the caller chose (the end of the
/// history), so history lies at t ≤ 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The trend kept.
    pub kind: TrendKind,
    /// Intercept: pods at t = 0 (linear) or its logarithm (compounding).
    pub a: f64,
    /// Slope per day: pods/day (linear) or the logarithm's (compounding).
    pub b: f64,
    /// Sine coefficient of the daily swing (pods, or of the logarithm).
    pub c: f64,
    /// Cosine coefficient of the daily swing.
    pub d: f64,
    /// R² on the original scale over the points kept.
    pub r_squared: f64,
    /// Standard deviation of the residuals (pods) over the points kept.
    pub residual_spread: f64,
    /// Points given.
    pub points: usize,
    /// Points dropped as outliers.
    pub dropped: usize,
    /// Which points were kept, in the order given.
    pub kept: Vec<bool>,
}

impl Fit {
    /// The trend (daily mean) at `t` days, never below 0.
    pub fn trend(&self, t: f64) -> f64 {
        let value = match self.kind {
            TrendKind::Linear => self.a + self.b * t,
            TrendKind::Compounding => (self.a + self.b * t).exp(),
        };
        value.max(0.0)
    }

    /// The model, swing included, at `t` days (not clamped).
    pub fn value(&self, t: f64) -> f64 {
        let swing = self.c * (2.0 * PI * t).sin() + self.d * (2.0 * PI * t).cos();
        match self.kind {
            TrendKind::Linear => self.a + self.b * t + swing,
            TrendKind::Compounding => (self.a + self.b * t + swing).exp(),
        }
    }

    /// The swing's amplitude: pods (linear) or of the logarithm (compounding).
    pub fn amplitude(&self) -> f64 {
        self.c.hypot(self.d)
    }

    /// The swing as a fraction of the trend at `t` days: half of peak to trough over the
    /// middle, which is what `daily_swing` means (target × (1 + swing × sin)).
    pub fn relative_swing(&self, t: f64) -> f64 {
        match self.kind {
            TrendKind::Linear => {
                let level = self.trend(t);
                if level > 0.0 {
                    self.amplitude() / level
                } else {
                    0.0
                }
            }
            // exp(A sin) swings between e^-A and e^A: (e^A - e^-A) / (e^A + e^-A).
            TrendKind::Compounding => self.amplitude().tanh(),
        }
    }

    /// The time of day of the swing's peak, in hours after midnight of the time axis.
    pub fn peak_hour(&self) -> f64 {
        // c sin x + d cos x = A sin(x + φ), φ = atan2(d, c); the peak is at x = π/2 - φ.
        let phase = self.d.atan2(self.c);
        let x = (PI / 2.0 - phase).rem_euclid(2.0 * PI);
        x / (2.0 * PI) * 24.0
    }

    /// Compounding growth per day in percent, or the linear slope as a percentage of the
    /// level at `t`.
    pub fn percent_per_day(&self, t: f64) -> f64 {
        match self.kind {
            TrendKind::Compounding => (self.b.exp() - 1.0) * 100.0,
            TrendKind::Linear => {
                let level = self.trend(t);
                if level > 0.0 {
                    self.b / level * 100.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Fits both trends to `(t days, pods)` and keeps the better. `None` when fewer than five
/// points survive (four unknowns need more rows than that to say anything).
pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    let linear = robust(points, TrendKind::Linear)?;
    let compounding = robust(points, TrendKind::Compounding);
    let Some(compounding) = compounding else {
        return Some(linear);
    };
    // Compare on the points both kept, on the counts themselves.
    let both: Vec<bool> = linear
        .kept
        .iter()
        .zip(&compounding.kept)
        .map(|(a, b)| *a && *b)
        .collect();
    let r_linear = quality(points, &both, &linear).0;
    let r_compounding = quality(points, &both, &compounding).0;
    if r_compounding > r_linear + PREFER_LINEAR_BY {
        Some(compounding)
    } else {
        Some(linear)
    }
}

/// One trend kind, refitted without outliers until none is left.
fn robust(points: &[(f64, f64)], kind: TrendKind) -> Option<Fit> {
    // The logarithm needs positive counts; zeros are restarts anyway.
    let mut kept: Vec<bool> = points
        .iter()
        .map(|&(t, y)| t.is_finite() && y.is_finite() && (kind == TrendKind::Linear || y > 0.0))
        .collect();
    let scale = |y: f64| match kind {
        TrendKind::Linear => y,
        TrendKind::Compounding => y.ln(),
    };
    let mut coefficients = solve(points, &kept, kind)?;
    for _ in 0..MAX_ROUNDS {
        let residuals: Vec<f64> = points
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(&(t, y), _)| scale(y) - model(&coefficients, t))
            .collect();
        let sigma = robust_sigma(&residuals, kind, points, &kept);
        let mut changed = false;
        for (i, &(t, y)) in points.iter().enumerate() {
            if kept[i] && (scale(y) - model(&coefficients, t)).abs() > REJECT_MADS * sigma {
                kept[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        coefficients = solve(points, &kept, kind)?;
    }
    let [a, b, c, d] = coefficients;
    let mut fit = Fit {
        kind,
        a,
        b,
        c,
        d,
        r_squared: 0.0,
        residual_spread: 0.0,
        points: points.len(),
        dropped: kept.iter().filter(|k| !**k).count(),
        kept,
    };
    let (r_squared, spread) = quality(points, &fit.kept, &fit);
    fit.r_squared = r_squared;
    fit.residual_spread = spread;
    Some(fit)
}

/// 1.4826 × MAD of the residuals, with a floor: a series of whole pods that sits still has a
/// MAD of 0, and rounding to whole pods is then not an outlier (the floor times
/// [`REJECT_MADS`] is one pod, so a steady 2 that drops to 0 is a restart).
fn robust_sigma(residuals: &[f64], kind: TrendKind, points: &[(f64, f64)], kept: &[bool]) -> f64 {
    let mad = median(&mut residuals.iter().map(|r| r.abs()).collect::<Vec<_>>());
    let floor = match kind {
        TrendKind::Linear => 0.25,
        TrendKind::Compounding => {
            // A quarter of a pod at the median level, on the log scale.
            let mut ys: Vec<f64> = points
                .iter()
                .zip(kept)
                .filter(|(_, k)| **k)
                .map(|(p, _)| p.1)
                .collect();
            let level = median(&mut ys).max(1.0);
            (1.0 + 0.25 / level).ln()
        }
    };
    (1.4826 * mad).max(floor)
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn model(&[a, b, c, d]: &[f64; 4], t: f64) -> f64 {
    a + b * t + c * (2.0 * PI * t).sin() + d * (2.0 * PI * t).cos()
}

/// Least squares over the kept points, on the scale of the trend kind.
fn solve(points: &[(f64, f64)], kept: &[bool], kind: TrendKind) -> Option<[f64; 4]> {
    let rows: Vec<(f64, f64)> = points
        .iter()
        .zip(kept)
        .filter(|(_, k)| **k)
        .map(|(&(t, y), _)| match kind {
            TrendKind::Linear => (t, y),
            TrendKind::Compounding => (t, y.ln()),
        })
        .collect();
    if rows.len() < 5 {
        return None;
    }
    let x = DMatrix::from_fn(rows.len(), 4, |i, j| {
        let t = rows[i].0;
        match j {
            0 => 1.0,
            1 => t,
            2 => (2.0 * PI * t).sin(),
            _ => (2.0 * PI * t).cos(),
        }
    });
    let y = DVector::from_iterator(rows.len(), rows.iter().map(|r| r.1));
    let solution = x.svd(true, true).solve(&y, 1e-12).ok()?;
    let out = [solution[0], solution[1], solution[2], solution[3]];
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// (R², residual standard deviation) on the original scale over the marked points.
fn quality(points: &[(f64, f64)], mask: &[bool], fit: &Fit) -> (f64, f64) {
    let used: Vec<(f64, f64)> = points
        .iter()
        .zip(mask)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect();
    if used.is_empty() {
        return (0.0, 0.0);
    }
    let n = used.len() as f64;
    let mean = used.iter().map(|p| p.1).sum::<f64>() / n;
    let total: f64 = used.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let residual: f64 = used.iter().map(|&(t, y)| (y - fit.value(t)).powi(2)).sum();
    // A series that never moves is fitted perfectly when the residuals are 0 too.
    let r_squared = if total > 0.0 {
        1.0 - residual / total
    } else if residual <= 1e-9 {
        1.0
    } else {
        0.0
    };
    (r_squared, (residual / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// 28 days every 30 minutes, ending at t = 0.
    fn times() -> Vec<f64> {
        (0..28 * 48).map(|i| -28.0 + i as f64 / 48.0).collect()
    }

    /// Uniform noise in ±`spread`, fixed seed.
    fn noisy(f: impl Fn(f64) -> f64, spread: f64, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        times()
            .into_iter()
            .map(|t| (t, f(t) + rng.random_range(-spread..spread)))
            .collect()
    }

    #[test]
    fn a_linear_trend_and_swing_are_recovered() {
        // 100 pods at day 0, 2 more a day, a swing of 10 pods peaking at 06:00.
        let points = noisy(|t| 100.0 + 2.0 * t + 10.0 * (2.0 * PI * t).sin(), 2.0, 7);
        let fit = fit(&points).expect("a fit");
        assert_eq!(fit.kind, TrendKind::Linear);
        assert!((fit.b - 2.0).abs() < 0.02, "slope {}", fit.b);
        assert!((fit.a - 100.0).abs() < 0.5, "level {}", fit.a);
        assert!(
            (fit.amplitude() - 10.0).abs() < 0.3,
            "amplitude {}",
            fit.amplitude()
        );
        assert!(
            (fit.peak_hour() - 6.0).abs() < 0.2,
            "peak {}",
            fit.peak_hour()
        );
        // Uniform noise of ±2 has a standard deviation of 2/√3 = 1.155.
        assert!((fit.residual_spread - 1.155).abs() < 0.1);
        // Variance explained: the signal's (trend 2²·28²/12 = 261.3, swing 10²/2 = 50) over
        // that plus the noise's (2²/3 = 1.33): 311.3 / 312.7 = 0.9957.
        assert!((fit.r_squared - 0.9957).abs() < 0.001, "{}", fit.r_squared);
        assert_eq!(fit.dropped, 0);
        assert!((fit.relative_swing(0.0) - 0.1).abs() < 0.003);
    }

    #[test]
    fn a_compounding_trend_is_chosen_and_recovered() {
        // 3% a day from 50 pods 28 days ago, a multiplicative swing of 20% (log amplitude
        // 0.2) peaking at 18:00 (−sin).
        let points = noisy(
            |t| (200.0f64.ln() + 0.03 * t - 0.2 * (2.0 * PI * t).sin()).exp(),
            1.0,
            11,
        );
        let fit = fit(&points).expect("a fit");
        assert_eq!(fit.kind, TrendKind::Compounding);
        assert!((fit.b - 0.03).abs() < 0.001, "slope {}", fit.b);
        assert!((fit.a.exp() - 200.0).abs() < 2.0, "level {}", fit.a.exp());
        assert!((fit.amplitude() - 0.2).abs() < 0.01);
        assert!(
            (fit.peak_hour() - 18.0).abs() < 0.2,
            "peak {}",
            fit.peak_hour()
        );
        assert!((fit.relative_swing(0.0) - 0.2f64.tanh()).abs() < 0.01);
        assert!(fit.r_squared > 0.99);
    }

    #[test]
    fn restarts_and_gaps_are_dropped_or_skipped() {
        let mut points = noisy(|t| 40.0 + 0.5 * t, 0.5, 3);
        // A gap of two days, and an exporter restart reporting 0 for three samples.
        points.retain(|p| !(-10.0..-8.0).contains(&p.0));
        let n = points.len();
        for p in &mut points[200..203] {
            p.1 = 0.0;
        }
        let fit = fit(&points).expect("a fit");
        assert_eq!(fit.points, n);
        assert_eq!(fit.dropped, 3);
        assert!(!fit.kept[200] && !fit.kept[202] && fit.kept[203]);
        assert!((fit.b - 0.5).abs() < 0.01);
    }

    #[test]
    fn a_flat_or_shrinking_series_is_a_result() {
        let flat: Vec<(f64, f64)> = times().into_iter().map(|t| (t, 12.0)).collect();
        let fit = fit(&flat).expect("a fit");
        assert_eq!(fit.kind, TrendKind::Linear);
        assert!(fit.b.abs() < 1e-9);
        assert_eq!(fit.r_squared, 1.0);
        assert_eq!(fit.dropped, 0);
        // 10 pods today after losing half a pod a day.
        let shrinking: Vec<(f64, f64)> = times().into_iter().map(|t| (t, 10.0 - 0.5 * t)).collect();
        let fit = super::fit(&shrinking).expect("a fit");
        assert!((fit.b + 0.5).abs() < 1e-6);
        // Clamped at 0 from day 20 on.
        assert_eq!(fit.trend(30.0), 0.0);
        assert!((fit.trend(10.0) - 5.0).abs() < 1e-6);
    }

    #[test]
    fn too_few_points_give_no_fit() {
        assert!(fit(&[(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]).is_none());
    }
}
