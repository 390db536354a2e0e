//! The JSON body of the REST endpoints. A body is one JSON object (SPEC §3), read as JSON Schema
//! reads it: a number with a zero fractional part (`60.0`) is an integer, so the document's
//! `type: integer` and the server agree.

use axum::extract::FromRequest;
use axum::http::StatusCode;
use serde_json::{Number, Value};

use super::charset_is_utf8;
use crate::error::ApiError;

/// JSON body whose rejection is an [`ApiError`]: 415 for another media type or a `charset` other
/// than UTF-8, 400 for malformed JSON, a body that is not an object, or a field of the wrong shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        if !charset_is_utf8(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON in UTF-8",
            ));
        }
        let axum::Json(mut body) = axum::Json::<Value>::from_request(req, state).await?;
        // serde would read a struct from an array of its fields in order: `[null, null]` is
        // not a body.
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "invalid JSON body: the body must be a JSON object",
            ));
        }
        integral_numbers_as_integers(&mut body);
        // Through the bytes again, so a field of the wrong shape is named in the message.
        let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Rewrites every number with a zero fractional part within the 64-bit integer range as that
/// integer (JSON Schema 2020-12 §6.1.1: `1.0` is an integer); such floats are exact there.
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                // Bounds as f64: -2^63 is exact, and so is 2^64 (just past u64::MAX).
                if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *n = Number::from(f as u64);
                } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                    *n = Number::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integral_floats_become_integers_at_any_depth() {
        let mut v = json!({"a": 60.0, "b": [1.5, -3.0, {"c": 1e3}], "d": "7.0", "e": 2});
        integral_numbers_as_integers(&mut v);
        assert_eq!(v, json!({"a": 60, "b": [1.5, -3, {"c": 1000}], "d": "7.0", "e": 2}));
        assert!(v["a"].is_u64() && v["b"][1].is_i64());
    }

    #[test]
    fn floats_beyond_64_bit_integers_stay_floats() {
        let mut v = json!([1.8446744073709552e19, -1e19, 1e300]);
        integral_numbers_as_integers(&mut v);
        assert!(v.as_array().unwrap().iter().all(Value::is_f64));
    }
}
