//! Reliability through the binary: determinism across threads and processes, and safe reports.

use crate::util::*;
