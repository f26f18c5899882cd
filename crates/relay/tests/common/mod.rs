//! The shared harness (crates/testkit): the real relay and simulator on loopback ports chosen at
//! run time.
#![allow(unused_imports)]

pub use switchboard_testkit::*;
