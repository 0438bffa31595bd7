//! A hasher for keys that are 128-bit hashes already (export account names in the inventory
//! reader, observation keys in the store): a set or map takes their low half as it is instead of
//! hashing a million keys a second time.

use std::hash::Hasher;

/// Use as `HashSet<u128, BuildHasherDefault<Prehashed>>`, or with a key whose `Hash` writes
/// one `u64` that is a hash already.
#[derive(Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
