//! Unit tests of the module alone (the token side is played by hand: paid messages in,
//! credits counted out).
