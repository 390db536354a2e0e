//! The OAuth clients list: search as you type, exports read back, delete through the row's menu
//! and the confirmation dialog.

use calamine::{Data, Reader as _, Xlsx};
use reqwest::Method;

use crate::console::{client, open, project};
use crate::{browser_test, inspect};

browser_test!(the_clients_list_is_accessible, |s, b| {
    let (p, clients) = project(&s).await;
    for name in ["Billing Portal", "Billing Worker", "Mobile App"] {
        client(&s, &p, name).await;
    }
    open(&b, &clients).await;
    b.wait_for_text("Billing Worker").await;
    inspect(&b, "clients").await;
});

browser_test!(
    search_narrows_the_list_as_you_type_by_part_of_the_name_and_by_the_id,
    |s, b| {
        let (p, clients) = project(&s).await;
        client(&s, &p, "Billing Portal").await;
        client(&s, &p, "Billing Worker").await;
        let mobile = client(&s, &p, "Mobile App").await;
        open(&b, &clients).await;
        // A page that reloads loses this mark: the search must run in the page.
        b.client().execute("window.notReloaded = true;", vec![]).await.unwrap();
        b.fill("Search clients by id or name", "illing").await;
        b.wait_for_path("the search in the URL", |p| p.ends_with("?filter=illing"))
            .await;
        b.wait_gone_text("Mobile App").await;
        let text = b.text().await;
        assert!(
            text.contains("Billing Portal") && text.contains("Billing Worker"),
            "{text}"
        );
        b.fill("Search clients by id or name", &mobile).await;
        b.wait_gone_text("Billing Portal").await;
        assert!(b.text().await.contains("Mobile App"));
        let kept = b
            .client()
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(kept, true, "the page was reloaded instead of searching in place");
    }
);

browser_test!(exports_download_the_filtered_list_as_a_workbook_and_a_pdf, |s, b| {
    let (p, clients) = project(&s).await;
    client(&s, &p, "Billing Portal").await;
    client(&s, &p, "Mobile App").await;
    open(&b, &format!("{clients}?filter=Billing")).await;
    b.click("Export to Excel").await;
    let (name, bytes) = b.download().await;
    assert!(name.ends_with(".xlsx"), "{name}");
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<String> = sheet
        .used_cells()
        .map(|(_, _, c): (_, _, &Data)| c.to_string())
        .collect();
    assert!(cells.iter().any(|c| c == "Billing Portal"), "{cells:?}");
    assert!(
        !cells.iter().any(|c| c == "Mobile App"),
        "the export ignored the filter: {cells:?}"
    );
    b.click("Export to PDF").await;
    let (name, bytes) = b.download().await;
    assert!(name.ends_with(".pdf"), "{name}");
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap();
    assert!(
        text.contains("Billing Portal") && !text.contains("Mobile App"),
        "{text}"
    );
});

browser_test!(
    a_client_is_deleted_through_its_menu_and_a_dialog_that_names_it,
    |s, b| {
        let (p, clients) = project(&s).await;
        client(&s, &p, "Billing Portal").await;
        let mobile = client(&s, &p, "Mobile App").await;
        open(&b, &clients).await;
        b.click("More actions for Mobile App").await;
        b.click("Delete").await;
        let dialog = b.wait_for("dialog[open]").await;
        let asks = dialog.text().await.unwrap();
        assert!(asks.contains(&format!("Mobile App ({mobile})")), "{asks}");
        inspect(&b, "client-delete-dialog").await;
        b.click("Cancel").await;
        b.wait_gone("dialog[open]").await;
        let path = format!("/accounts/projects/{p}/oauth/clients/{mobile}");
        assert_eq!(
            s.call(Method::GET, &path, None).await.0,
            200,
            "Cancel deleted the client"
        );
        b.click("More actions for Mobile App").await;
        b.click("Delete").await;
        b.wait_for("dialog[open]").await;
        b.click("Delete").await;
        b.wait_for_text(&format!("Client Mobile App ({mobile}) deleted.")).await;
        let rows = b.wait_for("#clients-results").await.text().await.unwrap();
        assert!(
            rows.contains("Billing Portal") && !rows.contains("Mobile App"),
            "{rows}"
        );
        assert_eq!(s.call(Method::GET, &path, None).await.0, 404, "the client still exists");
    }
);

browser_test!(the_delete_confirmation_page_without_javascript_is_accessible, |s, b| {
    let (p, clients) = project(&s).await;
    let id = client(&s, &p, "Mobile App").await;
    open(&b, &format!("{clients}/{id}/delete")).await;
    b.wait_for_text("This cannot be undone.").await;
    inspect(&b, "client-delete").await;
});
