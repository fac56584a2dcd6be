//! Interoperability with a real Fedify 2.3.6 server over HTTPS on loopback.
//!
//! Needs the machine prepared by `.ci/interop-setup.sh` (nginx TLS fronts for
//! isg.test and peer.test, a test CA, Node 22 + Fedify) and
//! `BROADSIDE_INTEROP_DIR` naming its work dir; `.ci/run` does both. Without
//! it the test is skipped locally and fails in CI.

#[path = "interop/support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{
    Broadside, ISG_LISTEN, ISG_ORIGIN, InteropDir, PEER_ACTOR, PEER_HANDLE, PEER_PORT, Proc, peer,
};

/// Everything that explains a failure: both processes' output, the TLS
/// front's log and whatever else the step had to say.
fn failure(step: &str, error: &str, procs: &[&Proc], interop: &InteropDir) -> String {
    let mut message = format!("interop step failed: {step}\n{error}\n");
    for proc in procs {
        message.push_str(&proc.report());
        message.push('\n');
    }
    message.push_str("----- nginx error.log (tail) -----\n");
    message.push_str(&interop.nginx_log_tail(30));
    message
}

/// Checks the fixed ports are free, creates the `isg` account in a fresh
/// database and starts `broadside serve`, waiting until it answers.
fn start_broadside(interop: &InteropDir, deadline: Instant) -> (Broadside, Proc) {
    for addr in [ISG_LISTEN.to_owned(), format!("127.0.0.1:{PEER_PORT}")] {
        support::ensure_port_free(&addr).unwrap_or_else(|e| panic!("{e}"));
    }

    let broadside = Broadside::new(interop).unwrap_or_else(|e| panic!("{e}"));
    broadside
        .run(&["migrate"])
        .unwrap_or_else(|e| panic!("{e}"));
    let created = broadside
        .run(&["actor", "create", "isg", "--name", "ISG"])
        .unwrap_or_else(|e| panic!("{e}"));
    let isg_actor = format!("{ISG_ORIGIN}/users/isg");
    assert!(
        created.contains(&isg_actor),
        "`broadside actor create isg` should print {isg_actor}, printed:\n{created}"
    );

    let mut serve = broadside.serve().unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = support::wait_for_http_ok(&mut serve, ISG_LISTEN, "/healthz", deadline) {
        panic!(
            "{}",
            failure("broadside serve ready", &e, &[&serve], interop)
        );
    }
    (broadside, serve)
}

/// Publishes a statement as `isg`; returns its URL (also its ActivityPub id).
fn publish_statement(broadside: &Broadside, lang: &str, title: &str, body: &str) -> String {
    let published = broadside
        .run(&[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "statement",
            "--lang",
            lang,
            "--title",
            title,
            "--body",
            body,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let post_url = published
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(
        post_url.starts_with(&format!("{ISG_ORIGIN}/users/isg/posts/")),
        "publish printed {published}"
    );
    post_url
}

#[test]
fn fedify_follow_is_accepted() {
    let Some(root) = support::interop_dir() else {
        return;
    };
    let _serial = support::exclusive();
    let interop = InteropDir::open(&root).unwrap_or_else(|e| panic!("{e}"));
    let isg_actor = format!("{ISG_ORIGIN}/users/isg");
    let deadline = Instant::now() + support::SCENARIO_TIMEOUT;
    let (broadside, mut serve) = start_broadside(&interop, deadline);

    let mut fedify = peer::spawn(&interop, Some("isg@isg.test")).unwrap_or_else(|e| panic!("{e}"));

    // Fedify resolves isg@isg.test over HTTPS, follows it, and must receive a
    // signed Accept that passes its own verification.
    let accept_prefix = peer::inbox("Accept", &isg_actor);
    let accept = support::wait_for_line(&mut fedify, &mut [&mut serve], &accept_prefix, deadline);
    if let Ok(line) = &accept {
        eprintln!("fedify peer: {line}");
    }
    if let Err(e) = accept {
        let hints = [peer::LOOKUP_FAILED, peer::FOLLOW_FAILED, peer::UNVERIFIED]
            .iter()
            .flat_map(|prefix| fedify.output().lines_starting_with(prefix))
            .collect::<Vec<_>>()
            .join("\n");
        panic!(
            "{}",
            failure(
                "Fedify receives an Accept for its Follow",
                &format!("{e}\n{hints}"),
                &[&serve, &fedify],
                &interop
            )
        );
    }

    // And we record the follower as accepted.
    let wanted = format!("accepted\t{PEER_ACTOR}");
    let mut last_list = String::new();
    let listed = support::wait_until("the follower to be listed as accepted", deadline, || {
        serve.ensure_running()?;
        last_list = broadside.run(&["follower", "list", "--actor", "isg"])?;
        let found = last_list
            .lines()
            .find(|line| *line == wanted || line.starts_with(&format!("{wanted}\t")))
            .map(str::to_owned);
        Ok(found)
    });
    if let Ok(line) = &listed {
        eprintln!("broadside follower list: {line}");
    }
    if let Err(e) = listed {
        panic!(
            "{}",
            failure(
                "`broadside follower list --actor isg` lists the peer as accepted",
                &format!("{e}\nwanted a line starting with {wanted:?}; last listing:\n{last_list}"),
                &[&serve, &fedify],
                &interop
            )
        );
    }

    // Publishing: Fedify receives the statement as an Article, then its correction and its
    // retraction, each verified by Fedify's own signature and JSON-LD processing.
    let post_url = publish_statement(
        &broadside,
        "es",
        "Declaración",
        "Solidaridad con la #huelga.",
    );

    let expect =
        |fedify: &mut Proc, serve: &mut Proc, step: &str, prefix: &str| -> serde_json::Value {
            match support::wait_for_line(fedify, &mut [serve], prefix, deadline) {
                Ok(line) => {
                    eprintln!("fedify peer: {line}");
                    let json = peer::inbox_json(&line).unwrap_or("null");
                    serde_json::from_str(json).unwrap_or(serde_json::Value::Null)
                }
                Err(e) => panic!("{}", failure(step, &e, &[serve, fedify], &interop)),
            }
        };
    let create = expect(
        &mut fedify,
        &mut serve,
        "Fedify receives the Create(Article)",
        &peer::inbox_with_object("Create", &isg_actor, "Article"),
    );
    assert_eq!(create["object"]["id"], post_url.as_str());
    assert_eq!(create["object"]["name"], "Declaración");
    assert!(
        create["object"]["contentMap"]["es"].as_str().is_some(),
        "{create}"
    );

    broadside
        .run(&[
            "post",
            "edit",
            &post_url,
            "--title",
            "Declaración (corregida)",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let update = expect(
        &mut fedify,
        &mut serve,
        "Fedify receives the Update",
        &peer::inbox_with_object("Update", &isg_actor, "Article"),
    );
    assert_eq!(update["object"]["name"], "Declaración (corregida)");
    assert!(update["object"]["updated"].is_string(), "{update}");

    // One statement, many languages: versions added later reach Fedify as Updates, and
    // Fedify reads the Article's text, title and summary in every language (its `contents`,
    // `names` and `summaries` as LanguageStrings), the post's own language first on the wire.
    for (lang, title, body) in [
        ("en", "Statement", "Solidarity with the #strike."),
        ("de", "Erklärung", "Solidarität mit dem #Streik."),
    ] {
        broadside
            .run(&[
                "post",
                "translate",
                &post_url,
                "--lang",
                lang,
                "--title",
                title,
                "--body",
                body,
            ])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let all = ["de", "en", "es"];
    let read_in_all = support::wait_until(
        "Fedify to read the Article in es, en and de",
        deadline,
        || {
            serve.ensure_running()?;
            fedify.ensure_running()?;
            Ok(fedify
                .output()
                .lines_starting_with(&peer::languages("Update", &post_url))
                .into_iter()
                .find(|line| peer::languages_of(line, "content") == all))
        },
    );
    let line = match read_in_all {
        Ok(line) => line,
        Err(e) => panic!(
            "{}",
            failure(
                "Fedify reads the translated Article",
                &e,
                &[&serve, &fedify],
                &interop
            )
        ),
    };
    eprintln!("fedify peer: {line}");
    assert_eq!(peer::languages_of(&line, "name"), all, "{line}");
    assert_eq!(peer::languages_of(&line, "summary"), all, "{line}");
    let created = fedify
        .output()
        .line_starting_with(&peer::languages("Create", &post_url))
        .unwrap_or_default();
    assert_eq!(peer::languages_of(&created, "content"), ["es"], "{created}");
    let translated = fedify
        .output()
        .lines_starting_with(&peer::inbox_with_object("Update", &isg_actor, "Article"))
        .into_iter()
        .filter_map(|line| {
            let json = peer::inbox_json(&line)?;
            serde_json::from_str::<serde_json::Value>(json).ok()
        })
        .find(|update| update["object"]["contentMap"].get("de").is_some())
        .unwrap_or_default();
    let order: Vec<&String> = translated["object"]["contentMap"]
        .as_object()
        .map(|map| map.keys().collect())
        .unwrap_or_default();
    assert_eq!(order, ["es", "en", "de"], "{translated}");
    assert_eq!(translated["object"]["name"], "Declaración (corregida)");

    broadside
        .run(&["post", "delete", &post_url])
        .unwrap_or_else(|e| panic!("{e}"));
    let delete = expect(
        &mut fedify,
        &mut serve,
        "Fedify receives the Delete",
        &peer::inbox("Delete", &isg_actor),
    );
    assert_eq!(delete["object"]["id"], post_url.as_str());
}

/// Waits for the peer to print a line starting with `prefix`; any of the
/// peer's failure lines (or either process exiting) ends the wait at once.
fn peer_says(
    fedify: &mut Proc,
    serve: &mut Proc,
    prefix: &str,
    step: &str,
    interop: &InteropDir,
    deadline: Instant,
) -> String {
    let failures = [
        peer::COMMAND_FAILED,
        peer::ACCEPT_FAILED,
        peer::UNVERIFIED,
        "INBOX-ERROR ",
    ];
    let what = format!("the Fedify peer to print {prefix:?}");
    let said = support::wait_until(&what, deadline, || {
        if let Some(line) = fedify.output().line_starting_with(prefix) {
            return Ok(Some(line));
        }
        if let Some(line) = failures
            .iter()
            .find_map(|failed| fedify.output().line_starting_with(failed))
        {
            return Err(format!("the Fedify peer says: {line}"));
        }
        fedify.ensure_running()?;
        serve.ensure_running()?;
        Ok(None)
    });
    match said {
        Ok(line) => {
            eprintln!("fedify peer: {line}");
            line
        }
        Err(e) => panic!("{}", failure(step, &e, &[serve, fedify], interop)),
    }
}

/// Runs `broadside ARGS` until a line of its output satisfies `wanted`.
fn poll_cli(
    broadside: &Broadside,
    serve: &mut Proc,
    fedify: &Proc,
    args: &[&str],
    wanted: impl Fn(&str) -> bool,
    interop: &InteropDir,
    deadline: Instant,
) -> String {
    let step = format!("`broadside {}`", args.join(" "));
    let mut last = String::new();
    let found = support::wait_until(&step, deadline, || {
        serve.ensure_running()?;
        last = broadside.run(args)?;
        Ok(last.lines().find(|line| wanted(line)).map(str::to_owned))
    });
    match found {
        Ok(line) => {
            eprintln!("{step}: {line}");
            line
        }
        Err(e) => panic!(
            "{}",
            failure(
                &step,
                &format!("{e}; last output:\n{last}"),
                &[serve, fedify],
                interop
            )
        ),
    }
}

/// GETs an ActivityPub document from `broadside serve` until `wanted` holds.
fn poll_json(
    serve: &mut Proc,
    fedify: &Proc,
    path: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
    interop: &InteropDir,
    deadline: Instant,
) -> serde_json::Value {
    let step = format!("GET {ISG_ORIGIN}{path}");
    let mut last = String::new();
    let found = support::wait_until(&step, deadline, || {
        serve.ensure_running()?;
        let (status, body) = support::http_get_accept(
            ISG_LISTEN,
            path,
            "application/activity+json",
            Duration::from_secs(5),
        )?;
        last = format!("{status} {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        Ok((status == 200 && wanted(&json)).then_some(json))
    });
    match found {
        Ok(json) => json,
        Err(e) => panic!(
            "{}",
            failure(
                &step,
                &format!("{e}; last answer: {last}"),
                &[serve, fedify],
                interop
            )
        ),
    }
}

/// The other direction: Broadside follows the Fedify actor (Fedify accepts),
/// receives the Note it publishes to its followers, and records its like of
/// and reply to one of our statements.
#[test]
fn broadside_follows_fedify_and_receives_its_note_like_and_reply() {
    let Some(root) = support::interop_dir() else {
        return;
    };
    let _serial = support::exclusive();
    let interop = InteropDir::open(&root).unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + support::SCENARIO_TIMEOUT;
    let (broadside, mut serve) = start_broadside(&interop, deadline);
    let mut fedify = peer::spawn(&interop, None).unwrap_or_else(|e| panic!("{e}"));
    peer_says(
        &mut fedify,
        &mut serve,
        peer::READY,
        "the Fedify peer starts",
        &interop,
        deadline,
    );

    // Broadside resolves @peer@peer.test over HTTPS and sends a Follow that
    // Fedify verifies and accepts; Broadside verifies the Accept in turn.
    let followed = broadside
        .run(&["follow", "--actor", "isg", PEER_HANDLE])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        followed.contains(PEER_ACTOR),
        "`broadside follow` printed {followed}"
    );
    peer_says(
        &mut fedify,
        &mut serve,
        &peer::inbox("Follow", &format!("{ISG_ORIGIN}/users/isg")),
        "Fedify receives our Follow",
        &interop,
        deadline,
    );
    peer_says(
        &mut fedify,
        &mut serve,
        peer::ACCEPT_SENT,
        "Fedify accepts our Follow",
        &interop,
        deadline,
    );
    let following = poll_json(
        &mut serve,
        &fedify,
        "/users/isg/following?page=1",
        |json| {
            json["orderedItems"]
                .as_array()
                .is_some_and(|items| items.iter().any(|item| item == PEER_ACTOR))
        },
        &interop,
        deadline,
    );
    assert_eq!(following["totalItems"], 1, "{following}");

    // The peer publishes a Note to its followers: Broadside keeps it.
    let note_text = "Fedify saluda a la huelga general";
    fedify
        .send_line(&peer::note(note_text))
        .unwrap_or_else(|e| panic!("{e}"));
    let sent = peer_says(
        &mut fedify,
        &mut serve,
        peer::NOTE_SENT,
        "Fedify publishes a Note",
        &interop,
        deadline,
    );
    assert!(sent.ends_with(" to 1 followers"), "{sent}");
    let note_id = peer::sent_id(&sent, peer::NOTE_SENT, 0).unwrap_or_else(|| panic!("{sent}"));
    poll_cli(
        &broadside,
        &mut serve,
        &fedify,
        &["network"],
        |line| line.ends_with(&format!("\t{note_id}")) && line.contains(note_text),
        &interop,
        deadline,
    );

    // The peer likes one of our statements and replies to it.
    let post_url = publish_statement(
        &broadside,
        "en",
        "Statement",
        "We stand with the general strike.",
    );
    fedify
        .send_line(&peer::like(&post_url))
        .unwrap_or_else(|e| panic!("{e}"));
    let liked = peer_says(
        &mut fedify,
        &mut serve,
        peer::LIKE_SENT,
        "Fedify likes our statement",
        &interop,
        deadline,
    );
    assert!(liked.contains(&format!(" of {post_url} ")), "{liked}");
    let reply_text = "Count us in, from peer.test";
    fedify
        .send_line(&peer::reply(&post_url, reply_text))
        .unwrap_or_else(|e| panic!("{e}"));
    let replied = peer_says(
        &mut fedify,
        &mut serve,
        peer::REPLY_SENT,
        "Fedify replies to our statement",
        &interop,
        deadline,
    );
    let reply_id =
        peer::sent_id(&replied, peer::REPLY_SENT, 0).unwrap_or_else(|| panic!("{replied}"));

    // The reply is held for approval: `reply list` shows it with its author.
    poll_cli(
        &broadside,
        &mut serve,
        &fedify,
        &["reply", "list"],
        |line| {
            line.contains("\treply\t")
                && line.contains("\t@peer@peer.test\t")
                && line.contains(reply_text)
                && line.ends_with(&format!("\t{reply_id}"))
        },
        &interop,
        deadline,
    );
    // The like is counted in the statement's `likes` collection.
    let post_path = post_url.trim_start_matches(ISG_ORIGIN).to_owned();
    let post = poll_json(
        &mut serve,
        &fedify,
        &post_path,
        |json| json["likes"]["totalItems"] == 1,
        &interop,
        deadline,
    );
    eprintln!("likes of {post_url}: {}", post["likes"]);
}
