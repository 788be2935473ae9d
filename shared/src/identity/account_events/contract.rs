//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::Duration;

crate::testing::contract::contract!(events_are_paged_newest_first_per_account_and_amended_in_place,);

async fn events_are_paged_newest_first_per_account_and_amended_in_place(stores: impl Shared) {
    use crate::identity::account_events::{AccountEvent, AccountEventStore, Cursor, EventKind};
    let events = stores.events();
    let client = crate::platform::http::RequestSource {
        ip: Some("203.0.113.9".to_owned()),
        user_agent: Some("agent".to_owned()),
    };
    let start = now();
    let at = |seconds: u64| start + Duration::from_secs(seconds);
    let first = AccountEvent::new(&account(1), EventKind::LoginFailed, at(0), &client);
    let second = AccountEvent::new(&account(1), EventKind::LoginSucceeded, at(5), &client);
    let same_time = AccountEvent::new(&account(1), EventKind::PasswordChanged, at(5), &client);
    let bobs = AccountEvent::new(&account(2), EventKind::LoginSucceeded, at(9), &client);
    for event in [&first, &second, &same_time, &bobs] {
        events.append(event).await.unwrap();
    }
    let page = events.page(&account(1), None, 2).await.unwrap();
    let ids: Vec<_> = page.iter().map(|event| event.id).collect();
    let mut newest = [second.id, same_time.id];
    newest.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest, "newest first, ties by id");
    let rest = events
        .page(&account(1), Some(&Cursor::after(&page[1])), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].id, first.id);
    assert_eq!(rest[0].client, client);

    events
        .amend(&account(2), first.id, EventKind::LoginSucceeded)
        .await
        .unwrap();
    let unchanged = events.page(&account(1), None, 10).await.unwrap();
    assert_eq!(
        unchanged.last().unwrap().kind,
        EventKind::LoginFailed,
        "not bob's to amend"
    );
    events
        .amend(&account(1), first.id, EventKind::LoginSucceeded)
        .await
        .unwrap();
    let amended = events.page(&account(1), None, 10).await.unwrap();
    assert_eq!(amended.last().unwrap().kind, EventKind::LoginSucceeded);
    assert_eq!(events.page(&account(2), None, 10).await.unwrap().len(), 1);
}
