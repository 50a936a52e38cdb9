//! Time as every dondoc service sees it.
//!
//! The [`Clock`] trait, its implementations and the business-date rule (Asia/Ho_Chi_Minh) belong
//! to the event-sourcing core, which needs time of its own; they are re-exported here so that a
//! service imports everything about time from one place.

pub use dondoc_eventsourcing::clock::{
    Clock, ManualClock, SharedClock, SystemClock, business_date, business_offset,
};
