//! dondoc's assignment service: the unit directory and the tasks the City PC assigns.
pub mod domain;
pub mod events;
