//! The rules of the server's text checks, as JSON Schema for the OpenAPI document, so that a
//! value the document allows is one the server accepts. The patterns use only character
//! classes and `\uXXXX` escapes, which ECMA-262 and Python agree on. A control character is
//! Unicode `Cc`: U+0000–U+001F and U+007F–U+009F.

use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// One line: no control character.
const ONE_LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// A name: one line with at least one character that is neither a control nor white space (a
/// name is refused when it is blank once trimmed).
const NAME: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$";
/// A description: tab, line feed and carriage return are text; no other control character.
const DESCRIPTION: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// An email address to store: a local part, `@`, and a dotted domain that neither starts nor
/// ends with a dot; printable ASCII, no space.
const EMAIL: &str = r"^[!-?A-~]+@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$";
/// No NUL: the rule of the JSON the server keeps as given (PostgreSQL cannot store U+0000).
const NO_NUL: &str = r"^[^\u0000]*$";
/// A room name (SPEC §1): 1–63 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
const ROOM_NAME: &str = r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$";

/// Longest email address (RFC 5321 §4.5.3.1).
const MAX_EMAIL: usize = 254;

fn string(nullable: bool, pattern: &str, min: usize, max: Option<usize>) -> Object {
    let ty = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(ty)
        .pattern(Some(pattern))
        .min_length((min > 0).then_some(min))
        .max_length(max)
        .build()
}

/// A name of at most 200 characters (projects, users, API keys, secrets).
pub fn name() -> Object {
    string(false, NAME, 1, Some(200))
}

/// A participant's name: at most 256 characters.
pub fn participant_name() -> Object {
    string(false, NAME, 1, Some(256))
}

/// A participant's name, or null for none.
pub fn optional_participant_name() -> Object {
    string(true, NAME, 1, Some(256))
}

/// A description: at most 1000 characters.
pub fn description() -> Object {
    string(false, DESCRIPTION, 0, Some(1000))
}

/// An email address to store (a new user).
pub fn email() -> Object {
    string(false, EMAIL, 0, Some(MAX_EMAIL))
}

/// An email address to look up (a member, a grantee): one line of at most 254 bytes.
pub fn email_ref() -> Object {
    string(true, ONE_LINE, 0, Some(MAX_EMAIL))
}

/// A room name.
pub fn room_name() -> Object {
    string(false, ROOM_NAME, 1, Some(63))
}

/// A room name, or null for none.
pub fn optional_room_name() -> Object {
    string(true, ROOM_NAME, 1, Some(63))
}

/// A password: 12–1024 characters.
pub fn password() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .min_length(Some(12))
        .max_length(Some(1024))
        .build()
}

/// A JSON object kept as given (room metadata): no NUL in any key or string, at any depth.
pub struct JsonObject;

impl PartialSchema for JsonObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property_names(Some(string(false, NO_NUL, 0, None)))
            .additional_properties(Some(Ref::from_schema_name(JsonValue::name())))
            .into()
    }
}

impl ToSchema for JsonObject {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((JsonValue::name().into_owned(), JsonValue::schema()));
    }
}

/// Any JSON value without NUL in a key or string, at any depth.
pub struct JsonValue;

impl PartialSchema for JsonValue {
    fn schema() -> RefOr<Schema> {
        let any = || Ref::from_schema_name(JsonValue::name());
        AnyOfBuilder::new()
            .item(string(false, NO_NUL, 0, None))
            .item(ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Number, Type::Boolean, Type::Null])))
            .item(ArrayBuilder::new().items(any()))
            .item(
                ObjectBuilder::new()
                    .property_names(Some(string(false, NO_NUL, 0, None)))
                    .additional_properties(Some(any())),
            )
            .into()
    }
}

impl ToSchema for JsonValue {}
