//! Random durations for simulated customers and agents.

use rand::Rng;

/// A sample of the exponential distribution with the given mean
/// (inter-arrival times of a Poisson process).
pub fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    let u: f64 = rng.random();
    -mean * (1.0 - u).ln()
}

/// A sample of a log-normal distribution with the given mean and shape
/// `sigma`: right-skewed like real handle times (many short, a few long).
pub fn lognormal(rng: &mut impl Rng, mean: f64, sigma: f64) -> f64 {
    // Box-Muller for a standard normal sample.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let mu = mean.ln() - sigma * sigma / 2.0;
    (mu + sigma * normal).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(samples: impl Iterator<Item = f64>) -> f64 {
        let (sum, n) = samples.fold((0.0, 0), |(s, n), x| (s + x, n + 1));
        sum / n as f64
    }

    #[test]
    fn means_are_right() {
        let mut rng = rand::rng();
        let exp = mean_of((0..50_000).map(|_| exponential(&mut rng, 2.0)));
        assert!((exp - 2.0).abs() < 0.1, "{exp}");
        let logn = mean_of((0..50_000).map(|_| lognormal(&mut rng, 8.0, 0.6)));
        assert!((logn - 8.0).abs() < 0.3, "{logn}");
    }
}
