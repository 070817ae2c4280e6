//! Keyset pages stay correct while rows are being inserted.

mod common;

use std::collections::HashSet;

use common::TestApp;

#[tokio::test]
async fn walking_250_tickets_by_7_while_more_arrive_sees_each_original_exactly_once() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;

    let mut originals = Vec::new();
    for chunk in 0..25 {
        let titles: Vec<String> = (0..10).map(|i| format!("ticket {}", chunk * 10 + i)).collect();
        let batch = titles.iter().map(|title| app.ticket(&admin, &customer, title, None));
        for t in futures::future::join_all(batch).await {
            originals.push(t["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(originals.len(), 250);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?limit=7&cursor={c}"),
            None => "/api/v1/tickets?limit=7".to_owned(),
        };
        // Inserts land between page reads.
        let (page, _) =
            tokio::join!(app.get(&path, Some(&admin.access)), app.ticket(&admin, &customer, "arrived meanwhile", None));
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 100, "the walk ends");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    let originals_seen: Vec<&String> = seen.iter().filter(|id| originals.contains(id)).collect();
    let mut expected: Vec<&String> = originals.iter().collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(originals_seen, expected, "every original, newest first, no gaps");

    let bad = app.get("/api/v1/tickets?cursor=not-a-cursor", Some(&admin.access)).await;
    assert_eq!(bad.problem(400)["errors"][0]["field"], "cursor");
}
