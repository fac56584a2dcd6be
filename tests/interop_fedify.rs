//! Interoperability with a real Fedify 2.3.6 server over HTTPS on loopback.
//!
//! Needs the machine prepared by `.ci/interop-setup.sh` (nginx TLS fronts for
//! isg.test and peer.test, a test CA, Node 22 + Fedify) and
//! `BROADSIDE_INTEROP_DIR` naming its work dir; `.ci/run` does both. Without
//! it the test is skipped locally and fails in CI.

#[path = "interop/support.rs"]
mod support;

use std::time::Instant;

use support::{Broadside, ISG_LISTEN, ISG_ORIGIN, InteropDir, PEER_ACTOR, PEER_PORT, Proc, peer};

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

#[test]
fn fedify_follow_is_accepted() {
    let Some(root) = support::interop_dir() else {
        return;
    };
    let _serial = support::exclusive();
    let interop = InteropDir::open(&root).unwrap_or_else(|e| panic!("{e}"));
    let isg_actor = format!("{ISG_ORIGIN}/users/isg");

    for addr in [ISG_LISTEN.to_owned(), format!("127.0.0.1:{PEER_PORT}")] {
        support::ensure_port_free(&addr).unwrap_or_else(|e| panic!("{e}"));
    }

    let broadside = Broadside::new(&interop).unwrap_or_else(|e| panic!("{e}"));
    broadside
        .run(&["migrate"])
        .unwrap_or_else(|e| panic!("{e}"));
    let created = broadside
        .run(&["actor", "create", "isg", "--name", "ISG"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        created.contains(&isg_actor),
        "`broadside actor create isg` should print {isg_actor}, printed:\n{created}"
    );

    let deadline = Instant::now() + support::SCENARIO_TIMEOUT;

    let mut serve = broadside.serve().unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = support::wait_for_http_ok(&mut serve, ISG_LISTEN, "/healthz", deadline) {
        panic!(
            "{}",
            failure("broadside serve ready", &e, &[&serve], &interop)
        );
    }

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
    let published = broadside
        .run(&[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "statement",
            "--lang",
            "es",
            "--title",
            "Declaración",
            "--body",
            "Solidaridad con la #huelga.",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let post_url = published
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(
        post_url.starts_with(&format!("{isg_actor}/posts/")),
        "publish printed {published}"
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
