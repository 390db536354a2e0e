//! The device verification page (RFC 8628 §3.3): the user enters the code shown on the device,
//! sees which application asks for what, and approves or denies.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::extract::Form;
use crate::routes::oauth::authorize::scope_items;
use crate::routes::web::{Browser, brand_of, branded_page, error_page, esc, hidden, page, to_login};
use crate::state::AppState;

fn code_form(state: &AppState, browser: &Browser, code: &str, error: Option<&str>) -> Response {
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    let body = format!(
        "{error}<p>Enter the code shown on your device.</p><form method=\"post\" action=\"/device\">{}\
         <label for=\"user_code\">Code</label><input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" autocapitalize=\"characters\" required autofocus>\
         <button type=\"submit\">Continue</button></form>",
        browser.csrf_field(state),
        esc(code),
    );
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, "Connect a device", &body)
}

/// `GET /device?user_code=…`: sign in first, then the code form (prefilled from the link).
pub async fn device_page(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let form = Form::parse(query.as_deref().unwrap_or("").as_bytes());
    let code = form.get("user_code").unwrap_or("").chars().take(32).collect::<String>();
    if browser.session.is_none() {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user_code", &code)
            .finish();
        return browser.finish(to_login(&format!("/device?{q}")));
    }
    let res = code_form(&state, &browser, &code, None);
    browser.finish(res)
}

/// `POST /device`: looks the code up and shows what approving would grant.
pub async fn device_lookup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, session, _) = match browser.signed_in_form(&state, &headers, &body, "/device") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let code = form.get("user_code").unwrap_or("");
    let res = match state.gh.find_device_request(session, code).await {
        Ok(view) => {
            let scopes = scope_items(&view.scopes, &view.resource_scopes);
            let body = format!(
                "<p><strong>{}</strong> on a device asks to sign in as you with these scopes:</p><ul class=\"scopes\">{scopes}</ul>\
                 <p>Only approve if your device shows the code <code>{}</code>.</p>\
                 <form method=\"post\" action=\"/device/confirm\">{}{}\
                 <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
                 <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>",
                esc(&view.client.settings.name),
                esc(&gatehouse_core::oauth::user_code::display(&view.user_code)),
                browser.csrf_field(&state),
                hidden("user_code", &view.user_code),
            );
            let brand = brand_of(&state, &view.client).await;
            branded_page(StatusCode::OK, "Allow this device?", brand.as_ref(), &body)
        }
        Err(gatehouse_core::Error::Invalid { reason, .. }) => {
            code_form(&state, &browser, code, Some(&format!("The code {reason}.")))
        }
        Err(e) => {
            tracing::error!(error = %e, "device lookup failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The code could not be checked; try again.",
            )
        }
    };
    browser.finish(res)
}

/// `POST /device/confirm`: approve or deny.
pub async fn device_confirm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, session, _) = match browser.signed_in_form(&state, &headers, &body, "/device") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let approve = form.get("decision") == Some("allow");
    let code = form.get("user_code").unwrap_or("");
    let res = match state.gh.decide_device_request(session, code, approve).await {
        Ok(()) if approve => page(
            StatusCode::OK,
            "Device connected",
            "<p class=\"notice\">You may return to your device.</p>",
        ),
        Ok(()) => page(
            StatusCode::OK,
            "Request denied",
            "<p>The device was not given access.</p>",
        ),
        Err(e) => error_page(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    browser.finish(res)
}
