//! Fuzzes what the inbox does with a body before it touches the network or the database:
//! `inbox::parse_activity` (JSON, id, type, actor), the tests `activities::dispatch` uses to
//! pick a handler, the parse of every received activity type, and the conversion of an
//! embedded post (with its sanitizing).
#![no_main]

use broadside::federation::{
    activities::{
        accept::ReceivedAccept,
        announce::ReceivedAnnounce,
        create::ReceivedPost,
        delete::{self, DeleteActor, ReceivedDeletePost},
        flag::ReceivedFlag,
        follow::Follow,
        like::ReceivedLike,
        reject::ReceivedReject,
        undo::{self, ReceivedUndo},
        undo_follow::{self, UndoFollow},
    },
    inbox,
    objects::remote_post,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn parses<T: serde::de::DeserializeOwned>(json: &Value) -> bool {
    serde_json::from_value::<T>(json.clone()).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(activity) = inbox::parse_activity(data) else {
        return;
    };
    let json = &activity.json;
    let _ = undo::is_undo_of_interaction(json);
    let _ = undo_follow::is_undo_follow(json);
    let _ = delete::deletes_its_actor(json);
    let _ = parses::<Follow>(json)
        | parses::<ReceivedAccept>(json)
        | parses::<ReceivedReject>(json)
        | parses::<ReceivedPost>(json)
        | parses::<ReceivedLike>(json)
        | parses::<ReceivedAnnounce>(json)
        | parses::<ReceivedUndo>(json)
        | parses::<UndoFollow>(json)
        | parses::<DeleteActor>(json)
        | parses::<ReceivedDeletePost>(json)
        | parses::<ReceivedFlag>(json);
    if let Some(object) = json.get("object").filter(|o| remote_post::is_post(o))
        && let Ok(post) = remote_post::object_to_remote_post(object, &activity.actor, 1)
    {
        let content = post.content.to_ascii_lowercase();
        assert!(!content.contains("<script"), "{}", post.content);
        assert!(
            post.url
                .is_none_or(|u| matches!(u.scheme(), "http" | "https")),
            "a post link that is not a web page"
        );
    }
});
