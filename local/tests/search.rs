//! GET /tickets?q=: a case-insensitive substring of title + ' ' + description, combined
//! with the other filters, keyset-paginated, and only ever the caller's tickets, whichever
//! way the database finds them (a walk of the newest tickets or the trigram index).

mod common;

use common::{Session, TestApp};
use crm_core::db::testing::TestDb;
use serde_json::json;

/// Every page of `GET /api/v1/tickets{query}` at `limit`, followed by its cursor; the ids in order.
async fn walk(app: &TestApp, s: &Session, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if query.is_empty() { '?' } else { '&' };
        let mut path = format!("/api/v1/tickets{query}{sep}limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&path, Some(&s.access)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{path}");
        ids.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
        assert!(ids.len() <= 100_000, "the walk ends");
    }
}

fn id(ticket: &serde_json::Value) -> String {
    ticket["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn search_matches_substrings_of_title_and_description_case_insensitively() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let agent = app.add_user(&acme, "bob@acme.test", "agent").await;
    let globex = app.customer(&acme, "Globex", "ops@globex.test").await;
    let initech = app.customer(&acme, "Initech", "bill@initech.test").await;
    let other = app.register("Other", "olga@other.test").await;
    let theirs = app.customer(&other, "Hooli", "gavin@hooli.test").await;

    let jam = id(&app.ticket(&acme, &globex, "Printer JAM on floor 3", Some("HIGH")).await);
    let vpn = id(&app.ticket(&acme, &initech, "VPN drops hourly", None).await);
    let discount = id(&app.ticket(&acme, &globex, "Refund 100% of the fee_total", Some("LOW")).await);
    let described = app
        .post(
            "/api/v1/tickets",
            Some(&acme.access),
            json!({"title": "Login slow", "description": "Started after the Printer upgrade", "customerId": initech}),
        )
        .await;
    assert_eq!(described.status, 201, "{}", described.body);
    let described = id(&described.body);
    app.patch(&format!("/api/v1/tickets/{vpn}/assign"), Some(&acme.access), json!({"assigneeId": agent})).await;
    // The other tenant's tickets hold every term searched for below.
    for title in ["Printer JAM on floor 3", "VPN drops hourly", "Refund 100% of the fee_total", "printer upgrade"] {
        app.ticket(&other, &theirs, title, Some("HIGH")).await;
    }

    let search = |query: &str| {
        let (app, acme, query) = (&app, &acme, query.to_owned());
        async move { walk(app, acme, &query, 20).await }
    };
    assert_eq!(search("?q=jam").await, [jam.as_str()], "lower case finds upper case");
    assert_eq!(search("?q=pRiNtEr").await, [described.as_str(), jam.as_str()], "in the title or the description");
    assert_eq!(search("?q=r%20ja").await, [jam.as_str()], "inside and across words");
    // The description helper writes "{title}: details": the search runs over both, joined by a space.
    assert_eq!(search("?q=hourly%20vpn%20drops").await, [vpn.as_str()], "across title and description");
    assert_eq!(search("?q=100%25").await, [discount.as_str()], "% is a character, not a wildcard");
    assert_eq!(search("?q=fee_t").await, [discount.as_str()], "_ is a character, not a wildcard");
    assert!(search("?q=1000").await.is_empty());
    assert_eq!(search("?q=e_").await, [discount.as_str()], "only the literal underscore");
    assert!(search("?q=zz").await.is_empty(), "a term shorter than a trigram");
    assert!(search("?q=floor%204").await.is_empty());

    // With each of the other filters.
    assert_eq!(search("?q=printer&priority=HIGH").await, [jam.as_str()]);
    assert_eq!(search(&format!("?q=printer&customerId={initech}")).await, [described.as_str()]);
    assert_eq!(search(&format!("?q=d&assigneeId={agent}")).await, [vpn.as_str()]);
    assert_eq!(search("?q=details&status=OPEN&priority=LOW").await, [discount.as_str()]);
    assert!(search(&format!("?q=vpn&customerId={globex}")).await.is_empty());
    app.patch(&format!("/api/v1/tickets/{jam}/status"), Some(&acme.access), json!({"status": "IN_PROGRESS"})).await;
    assert_eq!(search("?q=printer&status=IN_PROGRESS").await, [jam.as_str()]);
    assert_eq!(search("?q=printer&status=OPEN").await, [described.as_str()]);

    // A page at a time, newest first, the same rows as one page.
    let all = search("?q=e").await;
    assert_eq!(all, [described.as_str(), discount.as_str(), vpn.as_str(), jam.as_str()]);
    assert_eq!(walk(&app, &acme, "?q=e", 1).await, all);
    assert_eq!(walk(&app, &acme, "?q=E", 3).await, all);

    // The other tenant finds only its own, never Acme's.
    let mine: Vec<String> = walk(&app, &other, "?q=printer", 20).await;
    assert_eq!(mine.len(), 2);
    assert!(!mine.contains(&jam) && !mine.contains(&described), "{mine:?}");
}

/// The plain scan, as the owner: the tenant's ticket ids matching `pattern` and `condition`, newest first.
async fn scan(db: &TestDb, tenant: &Session, pattern: &str, condition: &str) -> Vec<String> {
    let sql = format!(
        "SELECT id::text FROM tickets WHERE tenant_id = $1::text::uuid AND lower(title || ' ' || description) LIKE $2
         {condition} ORDER BY id DESC"
    );
    let owner = db.connect().await;
    owner.query(&sql, &[&tenant.tenant_id, &pattern]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

/// Thousands of tickets, loaded by the owner, so that every way of searching runs: a
/// term on every third ticket fills pages from the newest ones; a term a few hundred
/// tickets apart makes the search walk further; a term on a handful of the oldest
/// tickets, or on none, goes through the trigram index. Every page of each answer is
/// checked against the plain scan.
#[tokio::test]
async fn search_over_thousands_of_tickets_answers_exactly_what_a_scan_would() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let agent = app.add_user(&acme, "bob@acme.test", "agent").await;
    let customer = app.customer(&acme, "Globex", "ops@globex.test").await;
    let other = app.register("Other", "olga@other.test").await;
    let theirs = app.customer(&other, "Hooli", "gavin@hooli.test").await;

    // Ids ordered like the app's UUIDv7: ticket n+1 is newer than ticket n.
    let owner = app.db.connect().await;
    let load = "INSERT INTO tickets (tenant_id, id, customer_id, assignee_id, title, description, status, priority,
                                     resolved_at)
        SELECT $1::text::uuid, (lpad(to_hex(1700000000000 + n), 12, '0') || '7' || substr(md5(n || $1), 1, 19))::uuid,
               $2::text::uuid, CASE WHEN n % 2 = 0 THEN $3::text::uuid END,
               'Ticket ' || n || CASE WHEN n % 3 = 0 THEN ' about the VPN' ELSE ' about printing' END
                   || CASE WHEN n % 301 = 8 THEN ' Quasar' ELSE '' END,
               'Details ' || n || CASE WHEN n IN (4, 9, 12) THEN ' Zyzzyva' ELSE '' END,
               CASE WHEN n % 5 = 0 THEN 'RESOLVED' ELSE 'OPEN' END,
               CASE WHEN n % 4 = 0 THEN 'HIGH' ELSE 'LOW' END,
               CASE WHEN n % 5 = 0 THEN now() END
        FROM generate_series(1, $4::int) n";
    owner.execute(load, &[&acme.tenant_id, &customer, &Some(&agent), &20_000i32]).await.unwrap();
    owner.execute(load, &[&other.tenant_id, &theirs, &None::<String>, &3_000i32]).await.unwrap();
    owner.batch_execute("ANALYZE tickets").await.unwrap();

    // A common term: every page comes from the newest tickets on, deep cursors included.
    let vpn = scan(&app.db, &acme, "%vpn%", "").await;
    assert_eq!(vpn.len(), 6_666);
    assert_eq!(walk(&app, &acme, "?q=VPN", 100).await, vpn);
    let open_high = "AND status = 'OPEN' AND priority = 'HIGH'";
    assert_eq!(
        walk(&app, &acme, "?q=vpn&status=OPEN&priority=HIGH", 100).await,
        scan(&app.db, &acme, "%vpn%", open_high).await
    );

    // A term every 301 tickets, one on three of the oldest, one on none.
    let assigned = format!("AND assignee_id = '{agent}'");
    for (q, pattern, count) in [("quasar", "%quasar%", 67), ("ZYZZYVA", "%zyzzyva%", 3), ("nowhere", "%nowhere%", 0)] {
        let all = scan(&app.db, &acme, pattern, "").await;
        assert_eq!(all.len(), count, "{q}");
        assert_eq!(walk(&app, &acme, &format!("?q={q}"), 20).await, all, "{q}");
        assert_eq!(walk(&app, &acme, &format!("?q={q}"), 1).await, all, "{q} a ticket at a time");
        let filtered = scan(&app.db, &acme, pattern, open_high).await;
        assert!(count == 0 || (!filtered.is_empty() && filtered.len() < count), "{q}: {filtered:?}");
        assert_eq!(walk(&app, &acme, &format!("?q={q}&status=OPEN&priority=HIGH"), 7).await, filtered, "{q}");
        let mine = scan(&app.db, &acme, pattern, &assigned).await;
        assert_eq!(walk(&app, &acme, &format!("?q={q}&assigneeId={agent}"), 100).await, mine, "{q}");
        let customer = format!("?q={q}&customerId={customer}");
        assert_eq!(walk(&app, &acme, &customer, 100).await, all, "{q}");
    }

    // The other tenant holds the same words and finds only its own tickets.
    let acme_all: std::collections::HashSet<String> = scan(&app.db, &acme, "%", "").await.into_iter().collect();
    for (q, count) in [("quasar", 10), ("zyzzyva", 3), ("vpn", 1_000)] {
        let found = walk(&app, &other, &format!("?q={q}"), 100).await;
        assert_eq!(found.len(), count, "{q}");
        assert!(found.iter().all(|t| !acme_all.contains(t)), "{q}");
    }
}

/// A term on many old tickets and on none of the newest (a product name of years ago):
/// the walk of the newest tickets finds nothing, so the older matches come from the
/// trigram index, and every page must still be exactly the newest ones after its cursor.
#[tokio::test]
async fn a_term_common_among_old_tickets_and_absent_from_new_ones_pages_newest_first() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ann@acme.test").await;
    let customer = app.customer(&acme, "Globex", "ops@globex.test").await;
    let other = app.register("Other", "olga@other.test").await;
    let theirs = app.customer(&other, "Hooli", "gavin@hooli.test").await;

    // Ticket n+1 is newer than ticket n; the newest 17,000 of 20,000 (more than the walk
    // reads) never say "Legacyword", half of the 3,000 before them do.
    let owner = app.db.connect().await;
    let load = "INSERT INTO tickets (tenant_id, id, customer_id, title, description, status, priority, resolved_at)
        SELECT $1::text::uuid, (lpad(to_hex(1700000000000 + n), 12, '0') || '7' || substr(md5(n || $1), 1, 19))::uuid,
               $2::text::uuid, 'Ticket ' || n,
               'Details ' || n || CASE WHEN n <= 3000 AND n % 2 = 0 THEN ' about the Legacyword' ELSE '' END,
               CASE WHEN n % 5 = 0 THEN 'RESOLVED' WHEN n % 3 = 0 THEN 'IN_PROGRESS' ELSE 'OPEN' END,
               CASE WHEN n % 4 = 0 THEN 'HIGH' ELSE 'LOW' END,
               CASE WHEN n % 5 = 0 THEN now() END
        FROM generate_series(1, $3::int) n";
    owner.execute(load, &[&acme.tenant_id, &customer, &20_000i32]).await.unwrap();
    owner.execute(load, &[&other.tenant_id, &theirs, &4_000i32]).await.unwrap();
    owner.batch_execute("ANALYZE tickets").await.unwrap();

    let all = scan(&app.db, &acme, "%legacyword%", "").await;
    assert_eq!(all.len(), 1_500);
    assert_eq!(walk(&app, &acme, "?q=legacyword", 100).await, all);
    assert_eq!(walk(&app, &acme, "?q=LegacyWord", 21).await, all);
    for status in ["OPEN", "IN_PROGRESS", "RESOLVED"] {
        let filtered = scan(&app.db, &acme, "%legacyword%", &format!("AND status = '{status}'")).await;
        assert!(!filtered.is_empty() && filtered.len() < all.len(), "{status}");
        assert_eq!(walk(&app, &acme, &format!("?q=legacyword&status={status}"), 21).await, filtered, "{status}");
    }
    let open_high = scan(&app.db, &acme, "%legacyword%", "AND status = 'OPEN' AND priority = 'HIGH'").await;
    assert_eq!(walk(&app, &acme, "?q=legacyword&status=OPEN&priority=HIGH", 7).await, open_high);

    // The other tenant's matches never show up in Acme's pages, nor Acme's in its.
    let theirs = walk(&app, &other, "?q=legacyword", 100).await;
    assert_eq!(theirs.len(), 1_500);
    assert!(theirs.iter().all(|t| !all.contains(t)));
}
