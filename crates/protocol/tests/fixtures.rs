//! Every fixture (one real-shaped webhook body each) parses into typed models, and the
//! documented signature of each file verifies over its exact bytes.

use std::path::PathBuf;

use serde_json::Value;
use switchboard_protocol::{signature, webhook::*};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/whatsapp")
}

fn fixture(name: &str) -> Notification {
    let body = std::fs::read(fixtures_dir().join("fixtures").join(name)).unwrap();
    parse_notification(&body).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn messages(n: &Notification) -> MessagesValue {
    match &n.entries[0].changes[0] {
        Change::Messages(m) => m.clone(),
        other => panic!("not messages: {other:?}"),
    }
}

fn first_content(name: &str) -> Content {
    messages(&fixture(name)).messages[0].content.clone()
}

#[test]
fn every_fixture_parses_and_its_signature_verifies() {
    let sigs: Value =
        serde_json::from_slice(&std::fs::read(fixtures_dir().join("signatures.json")).unwrap())
            .unwrap();
    let secret = sigs["app_secret"].as_str().unwrap().as_bytes();
    let mut count = 0;
    for (name, sig) in sigs["signatures"].as_object().unwrap() {
        let body = std::fs::read(fixtures_dir().join("fixtures").join(name)).unwrap();
        assert!(signature::verify(secret, &body, sig.as_str()), "{name}");
        assert_eq!(
            signature::sign(secret, &body),
            sig.as_str().unwrap(),
            "{name}"
        );
        parse_notification(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        count += 1;
    }
    assert!(count >= 39, "only {count} fixtures");
}

#[test]
fn message_types_are_typed() {
    match first_content("text.json") {
        Content::Text { body } => assert!(!body.is_empty()),
        c => panic!("{c:?}"),
    }
    match first_content("image.json") {
        Content::Image(m) => {
            assert!(m.id.is_some());
            assert!(m.caption.is_some());
        }
        c => panic!("{c:?}"),
    }
    match first_content("document.json") {
        Content::Document(m) => assert!(m.filename.is_some()),
        c => panic!("{c:?}"),
    }
    match first_content("audio_voice.json") {
        Content::Audio(m) => assert_eq!(m.voice, Some(true)),
        c => panic!("{c:?}"),
    }
    assert!(matches!(first_content("video.json"), Content::Video(_)));
    assert!(matches!(first_content("sticker.json"), Content::Sticker(_)));
    match first_content("location.json") {
        Content::Location(l) => {
            assert!(l.latitude != 0.0);
            assert!(
                !l.name.as_deref().unwrap_or("").is_ascii(),
                "escaped non-ASCII decoded"
            );
        }
        c => panic!("{c:?}"),
    }
    match first_content("contacts.json") {
        Content::Contacts { contacts } => assert!(!contacts.is_empty()),
        c => panic!("{c:?}"),
    }
    match first_content("interactive_button_reply.json") {
        Content::Interactive(i) => {
            assert_eq!(i.kind.as_deref(), Some("button_reply"));
            assert!(i.id.is_some() && i.title.is_some());
        }
        c => panic!("{c:?}"),
    }
    match first_content("interactive_list_reply.json") {
        Content::Interactive(i) => assert_eq!(i.kind.as_deref(), Some("list_reply")),
        c => panic!("{c:?}"),
    }
    match first_content("interactive_nfm_reply.json") {
        Content::Interactive(i) => {
            assert_eq!(i.kind.as_deref(), Some("nfm_reply"));
            assert!(
                i.response.as_ref().unwrap().get("flow_token").is_some(),
                "response_json parsed"
            );
        }
        c => panic!("{c:?}"),
    }
    match first_content("button_template_quick_reply.json") {
        Content::Button { payload, text } => assert!(payload.is_some() && text.is_some()),
        c => panic!("{c:?}"),
    }
    match first_content("reaction.json") {
        Content::Reaction { emoji, message_id } => {
            assert_eq!(emoji.as_deref(), Some("\u{1f44d}"));
            assert!(message_id.starts_with("wamid."));
        }
        c => panic!("{c:?}"),
    }
    assert!(matches!(
        first_content("reaction_removed.json"),
        Content::Reaction { emoji: None, .. }
    ));
    match first_content("order.json") {
        Content::Order(o) => assert!(!o.product_items.is_empty()),
        c => panic!("{c:?}"),
    }
    match first_content("system_user_changed_number.json") {
        Content::System(s) => {
            assert_eq!(s.kind.as_deref(), Some("user_changed_number"));
            assert_eq!(s.new_wa_id.as_deref(), Some("15557654321"));
        }
        c => panic!("{c:?}"),
    }
    assert!(matches!(
        first_content("unsupported.json"),
        Content::Unsupported { kind: Some(_) }
    ));
    assert!(matches!(
        first_content("unknown_legacy.json"),
        Content::Unsupported { .. }
    ));
    assert_eq!(
        first_content("request_welcome.json"),
        Content::RequestWelcome
    );
}

#[test]
fn riders_and_identities() {
    let reply = messages(&fixture("text_reply_context.json")).messages[0].clone();
    assert!(reply
        .context
        .as_ref()
        .unwrap()
        .id
        .as_deref()
        .unwrap()
        .starts_with("wamid."));
    let fwd = messages(&fixture("text_forwarded.json")).messages[0].clone();
    assert!(fwd.context.as_ref().unwrap().forwarded);
    let ffwd = messages(&fixture("text_frequently_forwarded.json")).messages[0].clone();
    assert!(ffwd.context.as_ref().unwrap().frequently_forwarded);
    let product = messages(&fixture("text_referred_product.json")).messages[0].clone();
    assert!(product.context.as_ref().unwrap().referred_product.is_some());
    let ad = messages(&fixture("text_referral_ctwa.json")).messages[0].clone();
    assert!(ad.referral.as_ref().unwrap().get("ctwa_clid").is_some());

    let bsuid = messages(&fixture("text_bsuid.json"));
    assert_eq!(
        bsuid.contacts[0].user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    assert_eq!(
        bsuid.messages[0].from_user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    assert_eq!(bsuid.contacts[0].name(), Some("Test User"));

    let unsupported = messages(&fixture("unsupported.json")).messages[0].clone();
    assert_eq!(unsupported.errors[0].code, 131051);
    let legacy = messages(&fixture("unknown_legacy.json")).messages[0].clone();
    assert!(legacy.errors[0].details().is_some());

    let v = messages(&fixture("inbound_with_value_errors.json"));
    assert_eq!(v.errors[0].code, 131000);
    let v = messages(&fixture("value_errors_130429.json"));
    assert_eq!(v.errors[0].code, 130429);
}

#[test]
fn statuses_are_typed() {
    let cases = [
        ("status_sent.json", DeliveryStatus::Sent),
        ("status_sent_v24.json", DeliveryStatus::Sent),
        ("status_sent_biz_opaque.json", DeliveryStatus::Sent),
        ("status_delivered.json", DeliveryStatus::Delivered),
        ("status_read.json", DeliveryStatus::Read),
        ("status_played.json", DeliveryStatus::Played),
        ("status_failed_131026.json", DeliveryStatus::Failed),
        ("status_failed_131047.json", DeliveryStatus::Failed),
        ("status_failed_131049.json", DeliveryStatus::Failed),
        ("status_failed_131053.json", DeliveryStatus::Failed),
    ];
    for (name, expected) in cases {
        let s = messages(&fixture(name)).statuses[0].clone();
        assert_eq!(s.status, Some(expected), "{name}");
        assert!(s.wamid.starts_with("wamid."), "{name}");
        if expected == DeliveryStatus::Failed {
            assert!(s.errors[0].code > 0, "{name}");
        }
    }
    let opaque = messages(&fixture("status_sent_biz_opaque.json")).statuses[0].clone();
    assert!(opaque.biz_opaque_callback_data.is_some());
}

#[test]
fn batched_bodies_yield_every_item() {
    let n = fixture("batched_multiple.json");
    let (mut msgs, mut stats) = (0, 0);
    for e in &n.entries {
        for c in &e.changes {
            if let Change::Messages(m) = c {
                msgs += m.messages.len();
                stats += m.statuses.len();
            }
        }
    }
    assert_eq!((msgs, stats), (2, 2));
    // The dashboard's test sample has fake ids but is still a notification.
    let sample = messages(&fixture("dashboard_test_sample.json"));
    assert_eq!(sample.messages.len(), 1);
}

#[test]
fn edits_and_deletions_name_the_message_they_change() {
    let original = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQwMDAwQTFCMkMzRDRFNUY2MDAwMAA=";
    match first_content("edit.json") {
        Content::Edit {
            original_message_id,
            message,
        } => {
            assert_eq!(original_message_id, original);
            assert_eq!(
                *message,
                Content::Text {
                    body: "Hello, do you ship to Porto?".into()
                }
            );
        }
        c => panic!("{c:?}"),
    }
    let edit = first_content("edit.json");
    assert_eq!(edit.preview(), "Hello, do you ship to Porto?");
    assert_eq!(edit.amends(), Some(original));
    match first_content("revoke.json") {
        Content::Revoke {
            original_message_id,
        } => assert_eq!(original_message_id, original),
        c => panic!("{c:?}"),
    }
    // Malformed ones are refused with the field named, not guessed at.
    for (item, field) in [
        (
            serde_json::json!({"id": "wamid.x", "timestamp": "1", "type": "edit",
                "edit": {"message": {"type": "text", "text": {"body": "x"}}}}),
            "edit.original_message_id",
        ),
        (
            serde_json::json!({"id": "wamid.x", "timestamp": "1", "type": "revoke", "revoke": {}}),
            "revoke.original_message_id",
        ),
        (
            serde_json::json!({"id": "wamid.x", "timestamp": "1", "type": "edit",
                "edit": {"original_message_id": "wamid.y", "message": {"type": "edit", "edit": {}}}}),
            "edit.message",
        ),
    ] {
        let e = parse_message(&item).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
}

#[test]
fn marketing_preferences_are_typed_with_numeric_timestamps() {
    let n = fixture("user_preferences_stop.json");
    let Change::Preferences(p) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    assert_eq!(p.phone_number_id.as_deref(), Some("200000000000002"));
    assert_eq!(p.preferences.len(), 1);
    let pref = &p.preferences[0];
    assert_eq!(pref.wa_id.as_deref(), Some("15551234567"));
    assert_eq!(
        (pref.category.as_str(), pref.value.as_str()),
        ("marketing_messages", "stop")
    );
    assert_eq!(pref.timestamp, 1_790_000_300);
    let n = fixture("user_preferences_resume.json");
    let Change::Preferences(p) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    assert_eq!(p.preferences[0].value, "resume");
}

#[test]
fn coexistence_bodies_are_typed() {
    let n = fixture("smb_message_echoes.json");
    let Change::Echoes(e) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    assert_eq!(e.phone_number_id, "200000000000002");
    let echo = &e.echoes[0];
    assert_eq!(echo.to.as_deref(), Some("15551234567"));
    assert_eq!(echo.to_user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(
        echo.message.content.preview(),
        "Yes, we ship to Porto. Your parcel leaves today."
    );
    let n = fixture("smb_message_echoes_edit.json");
    let Change::Echoes(e) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    assert_eq!(
        e.echoes[0].message.content.amends(),
        Some(echo.message.id.as_str())
    );

    let n = fixture("history.json");
    let Change::History(h) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    let chunk = &h.chunks[0];
    assert_eq!((chunk.phase, chunk.progress), (Some(0), Some(100)));
    let thread = &chunk.threads[0];
    assert_eq!(thread.customer.wa_id.as_deref(), Some("15551234567"));
    assert_eq!(
        thread.customer.user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    let from_business: Vec<bool> = thread.messages.iter().map(|m| m.from_business).collect();
    assert_eq!(from_business, [false, true, false]);
    assert_eq!(thread.messages[1].status.as_deref(), Some("read"));
    assert_eq!(thread.messages[2].message.type_name, "media_placeholder");
    let n = fixture("history_media.json");
    let Change::History(h) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    assert_eq!(h.messages[0].id, thread.messages[2].message.id);
    assert!(h.messages[0].content.media().is_some());
    let n = fixture("history_declined.json");
    let Change::History(h) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    assert_eq!(h.chunks[0].errors[0].code, 2593109);
    assert!(h.chunks[0].threads.is_empty());

    let n = fixture("smb_app_state_sync.json");
    let Change::StateSync(s) = &n.entries[0].changes[0] else {
        panic!("{n:?}")
    };
    let actions: Vec<(&str, Option<&str>)> = s
        .items
        .iter()
        .map(|i| (i.action.as_str(), i.phone_number.as_deref()))
        .collect();
    assert_eq!(
        actions,
        [
            ("add", Some("15551234567")),
            ("add", Some("4915112340000")),
            ("remove", Some("4915112340000"))
        ]
    );
    assert_eq!(
        s.items[0].full_name.as_deref(),
        Some("Ana Ferreira (Porto)")
    );
}
