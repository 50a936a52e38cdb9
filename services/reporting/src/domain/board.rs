//! The task board: how many tasks each lead unit has in each status.

/// One cell of the task board: how many tasks a lead unit has in a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardRow {
    pub unit: String,
    /// Status as stored (`assigned`, `cancelled`, …).
    pub status: String,
    pub tasks: u64,
}

/// The board as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Board {
    pub rows: Vec<BoardRow>,
    pub total_tasks: u64,
    /// Task events applied to the whole projection so far (not only the selected unit's);
    /// each event is counted exactly once, which is what the delivery tests check.
    pub events_applied: u64,
}
