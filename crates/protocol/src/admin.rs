//! Admin request bodies of the relay's API: creating users and adding business numbers.

use serde::{Deserialize, Serialize};

use crate::api::Role;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub name: String,
    pub waba_id: Option<String>,
}
