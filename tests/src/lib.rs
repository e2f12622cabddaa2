//! End-to-end tests across crates (devices, relay, faults) live in `tests/tests/`;
//! this library holds what they and the benchmarks share.

pub mod fixtures;
pub mod hostile;
pub mod netshape;
pub mod relay;
pub mod tamper;
