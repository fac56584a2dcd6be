//! How a joint statement's signatories appear in its object: all of them in `attributedTo`
//! (the publisher first), and those on other servers as `Mention` tags and in `cc`, so that
//! their servers accept the post as addressed to them and notify them.

use url::Url;

use crate::{
    domain::{Cosigner, LocalActor, Post},
    federation::{
        protocol::post::{Attribution, TagObject},
        urls,
    },
};

/// The actor id of a co-signer.
pub fn cosigner_id(cosigner: &Cosigner, base: &Url) -> Url {
    match cosigner {
        Cosigner::Local { username, .. } => urls::actor(base, username.as_str()),
        Cosigner::Remote(actor) => actor.ap_id.clone(),
    }
}

/// `attributedTo`: the publishing account alone, or it and then every co-signer. Mastodon
/// takes the first entry as the author when it fetches the post, and checks it is on the
/// post's own host, which the publisher always is.
pub fn attribution(post: &Post, actor: &LocalActor, base: &Url) -> Attribution {
    let publisher = urls::actor(base, actor.username.as_str());
    if post.cosigners.is_empty() {
        return Attribution::One(publisher);
    }
    let mut all = vec![publisher];
    all.extend(post.cosigners.iter().map(|c| cosigner_id(c, base)));
    Attribution::Joint(all)
}

/// Adds each remote co-signer to `cc` unless it is there already (it was also mentioned).
pub fn add_cosigners_to_cc(post: &Post, cc: &mut Vec<Url>) {
    for actor in post.cosigners.iter().filter_map(Cosigner::remote) {
        if !cc.contains(&actor.ap_id) {
            cc.push(actor.ap_id.clone());
        }
    }
}

/// Adds a `Mention` of each remote co-signer not mentioned in the text already.
pub fn add_cosigner_mentions(post: &Post, tags: &mut Vec<TagObject>) {
    for actor in post.cosigners.iter().filter_map(Cosigner::remote) {
        let mentioned = tags
            .iter()
            .any(|tag| tag.kind == "Mention" && tag.href == actor.ap_id);
        if !mentioned {
            tags.push(TagObject {
                kind: "Mention",
                href: actor.ap_id.clone(),
                name: actor.handle().to_string(),
            });
        }
    }
}
