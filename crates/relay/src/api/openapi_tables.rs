//! The tables `api::openapi` finishes the document with: text rules per field, further keywords,
//! links between operations, Meta-id path parameters and required-but-nullable fields. A new
//! route or field rule is one line here (the relay checks the same rule where it reads the value).

use switchboard_protocol::rules;

/// `(schema, field, pattern)`: the field (or, with a trailing `[]`, each item of the list, or,
/// with a trailing `{}`, each key of the map) matches the pattern; the relay checks the same.
pub const FIELD_RULES: &[(&str, &str, &str)] = &[
    ("NewUser", "email", rules::EMAIL),
    ("NewUser", "name", rules::LABEL),
    ("UserPatch", "name", rules::LABEL),
    ("NewRole", "name", rules::ROLE_NAME),
    ("RolePatch", "name", rules::ROLE_NAME),
    ("NewNumber", "phone_number_id", rules::META_ID),
    ("NewNumber", "display_phone_number", rules::PHONE),
    ("NewNumber", "name", rules::LABEL),
    ("NewNumber", "waba_id", rules::META_ID_OR_EMPTY),
    ("NewTeam", "name", rules::LABEL),
    ("NoteRequest", "text", rules::TEXT),
    ("Tags", "tags[]", rules::TAG),
    ("Skills", "skills[]", rules::SKILL),
    ("AgentSettings", "skills[]", rules::SKILL),
    ("LegalHoldRequest", "reason", rules::LABEL),
    ("MetaAppSecret", "app_secret", rules::CREDENTIAL),
    (
        "BusinessAccountUpdate",
        "access_token",
        rules::CREDENTIAL_OR_EMPTY,
    ),
    ("BusinessAccountUpdate", "app_id", rules::META_ID_OR_EMPTY),
    ("BusinessAccountUpdate", "name", rules::ONE_LINE),
    ("LoginRequest", "email", rules::TEXT),
    ("SensitiveWords", "languages{}", rules::LANGUAGE),
    ("WordCheck", "language", rules::LANGUAGE),
    ("NewAutoReply", "phone_number_id", rules::META_ID),
    ("AutoReplyTest", "phone_number_id", rules::META_ID),
];

/// `(schema, field, keyword, value)`: a further JSON Schema keyword of a field (same paths as
/// [`FIELD_RULES`]), where `utoipa`'s attributes cannot reach (list items).
pub const FIELD_FACTS: &[(&str, &str, &str, i64)] = &[
    ("Tags", "tags[]", "maxLength", 40),
    ("Skills", "skills[]", "maxLength", 100),
    ("AgentSettings", "skills[]", "maxLength", 100),
    ("BusinessAccountUpdate", "name", "maxLength", 100),
];

/// `(operation, status, target operation, [(parameter, expression)])`.
pub type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// OpenAPI links: `(operation, status, target operation, [(parameter, expression)])`, from what
/// an operation creates or names to the operations that read and change it (clients and the
/// stateful tester follow them).
pub const LINKS: &[Link] = &[
    (
        "create_user",
        "201",
        "get_user",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_user",
        "201",
        "update_user",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_user",
        "201",
        "reset_password",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_role",
        "201",
        "get_role",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_role",
        "201",
        "update_role",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_role",
        "201",
        "delete_role",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_team",
        "201",
        "get_team",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_team",
        "201",
        "put_team",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_team",
        "201",
        "delete_team",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_team",
        "201",
        "put_team_business_hours",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_team",
        "201",
        "delete_team_business_hours",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_auto_reply",
        "201",
        "get_auto_reply",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_auto_reply",
        "201",
        "update_auto_reply",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_auto_reply",
        "201",
        "delete_auto_reply",
        &[("id", "$response.body#/id")],
    ),
    (
        "add_note",
        "201",
        "list_notes",
        &[("id", "$request.path.id")],
    ),
    ("put_tags", "200", "get_tags", &[("id", "$request.path.id")]),
    (
        "hold_contact",
        "200",
        "release_contact",
        &[("id", "$request.path.id")],
    ),
    (
        "hold_conversation",
        "200",
        "release_conversation",
        &[("id", "$request.path.id")],
    ),
    ("send", "202", "messages", &[("id", "$request.path.id")]),
    (
        "put_app",
        "204",
        "delete_app",
        &[("app_id", "$request.path.app_id")],
    ),
    (
        "add_number",
        "200",
        "get_policy",
        &[("phone_number_id", "$response.body#/phone_number_id")],
    ),
    (
        "add_number",
        "200",
        "get_rate_limit",
        &[("phone_number_id", "$response.body#/phone_number_id")],
    ),
    (
        "add_number",
        "200",
        "put_retention",
        &[("phone_number_id", "$response.body#/phone_number_id")],
    ),
    // Hours exist once set: a new team or number has none (its GET is 404 until a PUT).
    (
        "put_team_business_hours",
        "200",
        "get_team_business_hours",
        &[("id", "$request.path.id")],
    ),
    (
        "put_business_hours",
        "200",
        "get_business_hours",
        &[("phone_number_id", "$request.path.phone_number_id")],
    ),
];

/// Path parameters that are Meta's ids, wherever they appear.
pub const META_ID_PATH_PARAMS: &[&str] = &["phone_number_id", "waba_id", "app_id"];

/// `(schema, field)`: must be present (it may still be `null`).
pub const REQUIRED: &[(&str, &str)] = &[("RetentionRequest", "days")];
