//! What the reporting service reports, as plain values (no I/O, no wire types): the task
//! board, the reporting periods of Decree 09/2019, and the periodic report computed as of the
//! end of a period from each task's history.

mod board;
pub mod period;
pub mod report;

pub use board::{Board, BoardRow};
