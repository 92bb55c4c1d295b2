//! Gateway mode (Linux, root, opt-in): Portico is the clients' router.
//! Unauthorised clients' HTTP is redirected to the portal and their other
//! forwarded traffic dropped, except DNS and the walled garden; signed-in
//! MACs go into an nftables set with the session's time left as the
//! element timeout, so the kernel ends them even if Portico is down.
//!
//! `nft` is driven through its command line (`nft -f -`), the ruleset
//! lives in one table Portico owns, and the client's MAC is found from its
//! IP in the neighbour table.

pub mod neigh;
pub mod nft;

pub use nft::{Gateway, GatewayError};
