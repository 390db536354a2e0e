//! The clients list: search by name and id (a plain GET form), paging with the total, exports
//! of the filtered list, and delete through the confirmation.

use calamine::{Data, Reader as _, Xlsx};
use reqwest::Method;
use serde_json::json;

use super::{assert_console_page, developer, form_to};
use crate::api_test;

api_test!(
    the_list_searches_by_part_of_the_name_and_by_id_and_pages_with_the_total,
    |s| {
        let (p, key, browser, _) = developer(&s, "list@example.com").await;
        let mut ids = Vec::new();
        for i in 0..60 {
            let name = if i % 3 == 0 {
                format!("Payments {i}")
            } else {
                format!("Reports {i}")
            };
            let (id, _) = s.client(&key, &p, json!({ "name": name, "client_uri": "https://app.example", "redirect_uris": ["https://a.example/cb"] })).await;
            ids.push(id);
        }
        let base = format!("/console/projects/{p}/clients");
        let all = browser.get(&base).await;
        assert!(all.body.contains("1–50 of 60 clients"), "{}", all.body);
        for column in ["Client ID", "Name", "Enabled", "URI", "Last used"] {
            assert!(
                all.body.contains(&format!("<th scope=\"col\">{column}</th>"))
                    || all.body.contains(&format!(">{column}</th>")),
                "{column}"
            );
        }
        for button in ["New Client", "Search", "Export to Excel", "Export to PDF", "Refresh"] {
            assert!(all.body.contains(&format!(">{button}<")), "toolbar button {button}");
        }
        let next = browser.get(&format!("{base}?offset=50")).await;
        assert!(next.body.contains("51–60 of 60 clients"));
        let search = form_to(&all, &base);
        assert_eq!(search.method, "get");
        let by_name = browser.get(&format!("{base}?filter=paYMents")).await;
        assert_console_page(&by_name);
        assert!(by_name.body.contains("1–20 of 20 clients"), "{}", by_name.body);
        assert!(!by_name.body.contains("Reports"));
        let by_id = browser.get(&format!("{base}?filter={}", &ids[7][3..15])).await;
        assert!(by_id.body.contains("1–1 of 1 client") && by_id.body.contains(&ids[7]));
        let none = browser.get(&format!("{base}?filter=nothing-like-this")).await;
        assert!(none.body.contains("No client matches"));
    }
);

api_test!(exports_download_the_filtered_list_as_excel_and_pdf, |s| {
    let (p, key, browser, _) = developer(&s, "export@example.com").await;
    for name in ["Alpha one", "Alpha two", "Beta"] {
        s.client(
            &key,
            &p,
            json!({ "name": name, "redirect_uris": ["https://a.example/cb"] }),
        )
        .await;
    }
    let list = browser
        .get(&format!("/console/projects/{p}/clients?filter=alpha"))
        .await;
    let href = |id: &str| {
        let at = list.body.find(&format!("id=\"{id}\"")).unwrap();
        let tag = &list.body[list.body[..at].rfind('<').unwrap()..at];
        let start = tag.find("href=\"").unwrap() + 6;
        tag[start..start + tag[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    let xlsx = href("export-xlsx");
    assert!(xlsx.contains("format=xlsx") && xlsx.contains("filter=alpha"), "{xlsx}");
    let res = s
        .http
        .get(format!("{}{xlsx}", s.base))
        .header("cookie", browser_cookies(&browser))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    let rows: Vec<Vec<Data>> = book
        .worksheet_range_at(0)
        .unwrap()
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect();
    let names: Vec<String> = rows[1..].iter().map(|r| r[1].to_string()).collect();
    assert_eq!(names, ["Alpha one", "Alpha two"]);
    let pdf = href("export-pdf");
    let res = s
        .http
        .get(format!("{}{pdf}", s.base))
        .header("cookie", browser_cookies(&browser))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let doc = lopdf::Document::load_mem(&res.bytes().await.unwrap()).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap();
    assert!(
        text.contains("Alpha one") && text.contains("Alpha two") && !text.contains("Beta"),
        "{text}"
    );
});

/// The console cookies of `browser`, for a download made outside it.
fn browser_cookies(browser: &gatehouse_testkit::Browser) -> String {
    ["gh_console", "gh_csrf"]
        .iter()
        .filter_map(|n| browser.cookie(n).map(|v| format!("{n}={v}")))
        .collect::<Vec<_>>()
        .join("; ")
}

api_test!(a_client_is_deleted_through_the_confirmation_naming_it, |s| {
    let (p, key, browser, _) = developer(&s, "delete@example.com").await;
    let (id, _) = s
        .client(
            &key,
            &p,
            json!({ "name": "Doomed", "redirect_uris": ["https://d.example/cb"] }),
        )
        .await;
    let list = browser.get(&format!("/console/projects/{p}/clients")).await;
    assert!(
        list.body.contains("<details class=\"menu\">") && list.body.contains(&format!("data-name=\"Doomed ({id})\""))
    );
    let confirm = browser.get(&format!("/console/projects/{p}/clients/{id}/delete")).await;
    assert_console_page(&confirm);
    assert!(confirm.body.contains("Delete <strong>Doomed</strong>"));
    let done = browser
        .submit(
            &form_to(&confirm, &format!("/console/projects/{p}/clients/{id}/delete")),
            &[],
            None,
        )
        .await;
    assert_eq!(done.status, 303);
    let after = browser.follow(done).await;
    assert!(after.body.contains(&format!("Client Doomed ({id}) deleted.")));
    let (st, _) = s
        .call_as(
            &key,
            Method::GET,
            &format!("/accounts/projects/{p}/oauth/clients/{id}"),
            None,
        )
        .await;
    assert_eq!(st, 404);
});
