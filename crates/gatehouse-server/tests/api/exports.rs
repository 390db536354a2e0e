//! Exports are real files: the workbook is read back by calamine, the PDF by lopdf.

use calamine::{Data, Reader as _, Xlsx};
use reqwest::Method;
use serde_json::json;

use crate::api_test;

api_test!(exports_are_real_xlsx_pdf_and_csv_files_of_the_filtered_list, |s| {
    let (p, key) = s.project("Exported").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let mut wanted = Vec::new();
    for i in 0..30 {
        let name = if i % 2 == 0 {
            format!("Alpha (team) {i}")
        } else {
            format!("Beta {i}")
        };
        let (_, c) = s.call_as(&key, Method::POST, &base, Some(json!({ "name": name, "redirect_uris": ["https://a.example/cb"], "client_uri": "https://a.example" }))).await;
        if i % 2 == 0 {
            wanted.push(c["client"]["client_id"].as_str().unwrap().to_owned());
        }
    }
    let get = |fmt: &str| {
        s.req_as(&key, Method::GET, &format!("{base}/export?format={fmt}&filter=alpha"))
            .send()
    };

    let res = get("xlsx").await.unwrap();
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("oauth-clients.xlsx")
    );
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows[0][0], Data::String("Client ID".into()));
    assert_eq!(rows.len(), wanted.len() + 1);
    let ids: Vec<String> = rows[1..].iter().map(|r| r[0].to_string()).collect();
    assert_eq!(ids, wanted);
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[1].to_string().starts_with("Alpha") && r[2] == Data::Bool(true))
    );

    let res = get("pdf").await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let doc = lopdf::Document::load_mem(&res.bytes().await.unwrap()).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap();
    for id in &wanted {
        assert!(text.contains(id.as_str()), "{id} missing from the PDF text");
    }
    assert!(!text.contains("Beta"), "the filter applies to the PDF");

    let csv = get("csv").await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("Client ID,Name,Enabled,URI"));
    assert_eq!(lines.len(), wanted.len() + 1);
});
