//! The URL of everything this instance serves. One place, so ids never drift apart.

use url::Url;

fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    url
}

pub fn actor(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}"))
}

/// The account's public page of the allied organizations it follows (when it shows one).
pub fn allies(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/allies"))
}

pub fn actor_key_id(base: &Url, username: &str) -> String {
    format!("{}#main-key", actor(base, username))
}

pub fn inbox(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/inbox"))
}

pub fn outbox(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/outbox"))
}

pub fn followers(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/followers"))
}

pub fn following(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/following"))
}

pub fn featured(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/collections/featured"))
}

/// A post's one URL: its ActivityPub id and its web page.
pub fn post(base: &Url, username: &str, post_id: i64) -> Url {
    join(base, &format!("/users/{username}/posts/{post_id}"))
}

/// Who liked a post (the `likes` collection).
pub fn post_likes(base: &Url, username: &str, post_id: i64) -> Url {
    join(base, &format!("/users/{username}/posts/{post_id}/likes"))
}

/// Who boosted a post (the `shares` collection).
pub fn post_shares(base: &Url, username: &str, post_id: i64) -> Url {
    join(base, &format!("/users/{username}/posts/{post_id}/shares"))
}

/// A post's approved replies (the `replies` collection).
pub fn post_replies(base: &Url, username: &str, post_id: i64) -> Url {
    join(base, &format!("/users/{username}/posts/{post_id}/replies"))
}

/// The Create activity of a post (dereferenceable).
pub fn post_create(base: &Url, username: &str, post_id: i64) -> Url {
    join(base, &format!("/users/{username}/posts/{post_id}/activity"))
}

/// An Update of a post, one per correction (dereferenceable).
pub fn post_update(base: &Url, username: &str, post_id: i64, at_millis: i64) -> Url {
    join(
        base,
        &format!("/users/{username}/posts/{post_id}/updates/{at_millis}"),
    )
}

/// The Delete of a post.
pub fn post_delete(base: &Url, username: &str, post_id: i64) -> Url {
    let mut url = post(base, username, post_id);
    url.set_fragment(Some("delete"));
    url
}

/// The Add (pin) or Remove (unpin) of a post to the featured collection.
pub fn post_featured_change(
    base: &Url,
    username: &str,
    post_id: i64,
    pinned: bool,
    at_millis: i64,
) -> Url {
    let mut url = post(base, username, post_id);
    let what = if pinned { "pin" } else { "unpin" };
    url.set_fragment(Some(&format!("{what}/{at_millis}")));
    url
}

pub fn atom_feed(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/feed.atom"))
}

pub fn rss_feed(base: &Url, username: &str) -> Url {
    join(base, &format!("/users/{username}/feed.rss"))
}

/// A post's page in one of its other languages (`lang` is a translation's tag; the post's own
/// language is served at [`post`]). An HTML page only: the post's id stays its one document.
pub fn post_in_language(base: &Url, username: &str, post_id: i64, lang: &str) -> Url {
    join(base, &format!("/users/{username}/posts/{post_id}/{lang}"))
}

/// The Atom feed of an account's posts readable in `lang` (written in it or translated).
pub fn atom_feed_in(base: &Url, username: &str, lang: &str) -> Url {
    join(base, &format!("/users/{username}/lang/{lang}/feed.atom"))
}

/// The RSS feed of an account's posts readable in `lang`.
pub fn rss_feed_in(base: &Url, username: &str, lang: &str) -> Url {
    join(base, &format!("/users/{username}/lang/{lang}/feed.rss"))
}

/// Where an uploaded file is served.
pub fn media(base: &Url, file_name: &str) -> Url {
    join(base, &format!("/media/{file_name}"))
}

pub fn shared_inbox(base: &Url) -> Url {
    join(base, "/inbox")
}

pub fn instance_actor(base: &Url) -> Url {
    join(base, "/actor")
}

pub fn instance_key_id(base: &Url) -> String {
    format!("{}#main-key", instance_actor(base))
}

/// `page` of a paged collection.
pub fn page(collection: &Url, page: i64) -> Url {
    let mut url = collection.clone();
    url.set_query(Some(&format!("page={page}")));
    url
}

/// If `url` is one of our post ids, the post's number.
pub fn post_id_of(base: &Url, url: &Url) -> Option<i64> {
    if url.origin() != base.origin() || url.query().is_some() {
        return None;
    }
    let mut segments = url.path_segments()?;
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some("users"), Some(_), Some("posts"), Some(id), None) => id.parse().ok(),
        _ => None,
    }
}

/// If `url` is one of our actor ids, its username.
pub fn username_of_actor<'a>(base: &Url, url: &'a Url) -> Option<&'a str> {
    if url.origin() != base.origin() || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    let name = url.path().strip_prefix("/users/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_under_the_base_url() {
        let base = Url::parse("https://isg.example").unwrap();
        assert_eq!(
            actor(&base, "isg").as_str(),
            "https://isg.example/users/isg"
        );
        assert_eq!(
            actor_key_id(&base, "isg"),
            "https://isg.example/users/isg#main-key"
        );
        assert_eq!(
            page(&followers(&base, "isg"), 2).as_str(),
            "https://isg.example/users/isg/followers?page=2"
        );
        assert_eq!(username_of_actor(&base, &actor(&base, "isg")), Some("isg"));
        assert_eq!(username_of_actor(&base, &inbox(&base, "isg")), None);
        assert_eq!(
            username_of_actor(
                &base,
                &Url::parse("https://other.example/users/isg").unwrap()
            ),
            None
        );
    }
}
