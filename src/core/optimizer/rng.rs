//! The optimizer's randomness, handed in by the caller so every choice can be replayed.
//!
//! SplitMix64 (Steele, Lea & Flood, 2014): a 64-bit counter passed through a bijective mixer.
//! It passes BigCrush, needs no state beyond one word and no dependency; nothing here is a
//! secret, so a cryptographic generator would buy nothing. (`rand_chacha` would bring
//! `ppv-lite86` and `zerocopy` into the Worker for the same job.)
//!
//! The samplers are the textbook ones: Box–Muller for the normal, Marsaglia & Tsang (2000) for
//! the gamma, and a beta as a ratio of two gammas.

use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator of one journey's choices: from its shop and checkout token, so a retry,
    /// a replayed webhook or a restart makes the same choice. The tag keeps it independent of
    /// the holdout bucket, which hashes the same two strings.
    pub fn for_journey(shop: &str, checkout_token: &str) -> Rng {
        let digest = Sha256::new()
            .chain_update(b"optimizer\0")
            .chain_update(shop.as_bytes())
            .chain_update([0])
            .chain_update(checkout_token.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Rng(u64::from_be_bytes(first))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with the 53 bits a double holds.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (multiply-shift; `n == 0` gives 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // in (0, 1], so the log is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Gamma with this shape and scale 1. Shapes below 1 use the boost
    /// `Gamma(a) = Gamma(a + 1) · U^(1/a)`; a shape that is not a positive number is read as
    /// the smallest one allowed, so nothing the store holds can make this loop or panic.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        let shape = if shape.is_finite() {
            shape.max(1e-3)
        } else {
            1e-3
        };
        if shape < 1.0 {
            let boost = self.uniform().max(f64::MIN_POSITIVE).powf(1.0 / shape);
            return self.gamma(shape + 1.0) * boost;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// Beta(a, b).
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        if x + y > 0.0 {
            x / (x + y)
        } else {
            a / (a + b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(samples: impl Iterator<Item = f64>) -> (f64, f64) {
        let v: Vec<f64> = samples.collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn the_samplers_have_their_moments() {
        let mut rng = Rng::new(7);
        let (mean, var) = moments((0..50_000).map(|_| rng.normal()));
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
            "{mean} {var}"
        );
        for shape in [0.3, 1.0, 4.5, 200.0] {
            let (mean, var) = moments((0..50_000).map(|_| rng.gamma(shape)));
            assert!((mean / shape - 1.0).abs() < 0.03, "{shape}: {mean}");
            assert!((var / shape - 1.0).abs() < 0.08, "{shape}: {var}");
        }
        let (mean, _) = moments((0..50_000).map(|_| rng.beta(2.0, 18.0)));
        assert!((mean - 0.1).abs() < 0.003, "{mean}");
        let (mean, _) = moments((0..50_000).map(|_| rng.uniform()));
        assert!((mean - 0.5).abs() < 0.01);
        assert!((0..1000).all(|_| rng.below(3) < 3));
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn odd_parameters_still_answer() {
        let mut rng = Rng::new(1);
        for shape in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(rng.gamma(shape).is_finite());
        }
        assert!(rng.beta(0.0, 0.0).is_finite());
    }

    #[test]
    fn a_journey_always_draws_the_same() {
        let a = Rng::for_journey("s.myshopify.com", "tok").next_u64();
        assert_eq!(a, Rng::for_journey("s.myshopify.com", "tok").next_u64());
        assert_ne!(a, Rng::for_journey("s.myshopify.com", "tok2").next_u64());
    }
}
