//! Who is calling and what they may do: API tokens and the principal they authenticate as.

pub mod manage;
pub mod people;
mod principal;
mod service;
pub mod sessions;
pub mod setup;
mod token;
pub mod usage;

pub use principal::{AuthError, Caller, Principal};
pub use service::{AccessService, ProxyError, Setup, SetupError};
pub use token::{IssuedToken, TokenSecret, hash_token, issue, random_hex, same_secret};
