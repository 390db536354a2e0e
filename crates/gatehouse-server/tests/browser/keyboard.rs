//! The console with the keyboard alone: Tab reaches every control in order and shows where the
//! focus is.

use crate::browser_test;
use crate::console::{client, open, project};

/// Tabs forward to each of `names` in turn (as `WebBrowser::focused` names them), checking each
/// shows its focus.
async fn tab_through(b: &gatehouse_testkit::WebBrowser, names: &[&str]) {
    for name in names {
        b.tab_to(name, 40).await;
        assert!(b.focus_visible().await, "{name} has the focus but does not show it");
    }
}

browser_test!(tab_reaches_every_toolbar_button_of_the_clients_list, |s, b| {
    let (p, clients) = project(&s).await;
    client(&s, &p, "Mobile App").await;
    open(&b, &clients).await;
    tab_through(
        &b,
        &[
            "input \"Search clients by id or name\"",
            "button \"Search\"",
            "a \"New Client\"",
            "a \"Export to Excel\"",
            "a \"Export to PDF\"",
            "a \"Refresh\"",
            "a \"Edit Mobile App\"",
            "summary \"More actions for Mobile App\"",
        ],
    )
    .await;
});
