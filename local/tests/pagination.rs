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

/// The next page's URL from an RFC 8288 `Link: <…>; rel="next"` header, resolved against
/// the URL that was asked, as a client's URL library would.
fn next_link(asked: &reqwest::Url, reply: &common::Reply) -> Option<reqwest::Url> {
    let link = reply.headers.get("link")?.to_str().unwrap();
    let target = link.strip_prefix('<')?.split_once(">; rel=\"next\"")?.0;
    Some(asked.join(target).unwrap())
}

#[tokio::test]
async fn a_ticket_with_20000_events_answers_its_timeline_in_linked_pages() {
    let app = TestApp::spawn().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&admin, "Globex", "ops@globex.test").await;
    let ticket = app.ticket(&admin, &customer, "Printer on fire", None).await["id"].as_str().unwrap().to_owned();
    let more: Vec<uuid::Uuid> = (1..20_000).map(|_| uuid::Uuid::now_v7()).collect();
    let owner = app.db.connect().await;
    owner
        .execute(
            "INSERT INTO ticket_events (tenant_id, id, ticket_id, actor_id, type, data)
             SELECT t.tenant_id, e.id, t.id, $2, 'updated', '{\"title\": [\"a\", \"b\"]}'
             FROM tickets t, unnest($3::uuid[]) e(id) WHERE t.id = $1",
            &[&ticket.parse::<uuid::Uuid>().unwrap(), &admin.user_id.parse::<uuid::Uuid>().unwrap(), &more],
        )
        .await
        .unwrap();

    let mut url = reqwest::Url::parse(&app.url(&format!("/api/v1/tickets/{ticket}/events"))).unwrap();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let path_and_query = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let r = app.get(&path_and_query, Some(&admin.access)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.body.as_array().expect("the timeline is an array").clone();
        assert_eq!(items.len(), 100, "every page is full (20,000 = 200 × 100)");
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match next_link(&url, &r) {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(pages, 200);
    assert_eq!(seen.len(), 20_000);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 20_000, "no event twice");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "oldest first");

    let first = app.get(&format!("/api/v1/tickets/{ticket}/events?limit=3"), Some(&admin.access)).await;
    assert_eq!(first.body[0]["type"], "created");
    assert_eq!(first.body.as_array().unwrap().len(), 3);
    assert!(first.headers["link"].to_str().unwrap().starts_with("<?limit=3&cursor="));
    let path = format!("/api/v1/tickets/{ticket}/events?limit=101");
    let too_many = app.get(&path, Some(&admin.access)).await;
    too_many.problem(400);
    assert_eq!(too_many.error_fields(), ["limit"]);
}
