//! The command line as SPEC.md names it: publishing with an image, listing, pinning,
//! correcting and retracting a post, each printing what scripts rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::{path::Path, process::Command};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_broadside"))
        .current_dir(dir)
        .env("BROADSIDE_BASE_URL", "https://isg.example")
        .env(
            "BROADSIDE_DATABASE_URL",
            format!("sqlite://{}/b.db", dir.display()),
        )
        .env("BROADSIDE_DATA_DIR", dir.join("data"))
        .env("BROADSIDE_LOG", "warn")
        .args(args)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

#[test]
fn a_post_with_an_image_is_published_listed_pinned_corrected_and_retracted() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["actor", "create", "isg", "--name", "ISG"]).unwrap();
    let image = dir.path().join("banner.png");
    std::fs::write(&image, PNG).unwrap();
    let body = dir.path().join("statement.md");
    std::fs::write(&body, "We stand with the #strikers.").unwrap();

    let published = run(
        dir.path(),
        &[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "statement",
            "--title",
            "On the strike",
            "--file",
            body.to_str().unwrap(),
            "--image",
            image.to_str().unwrap(),
            "--alt",
            "Strikers at the gate",
        ],
    )
    .unwrap();
    let url = published.lines().last().unwrap();
    assert!(
        url.starts_with("https://isg.example/users/isg/posts/"),
        "{published}"
    );
    let stored: Vec<_> = std::fs::read_dir(dir.path().join("data/media"))
        .unwrap()
        .collect();
    assert_eq!(stored.len(), 1, "the image is stored under the data folder");

    let listed = run(dir.path(), &["post", "list", "--actor", "isg"]).unwrap();
    let line = listed.lines().next().unwrap();
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(
        fields[1..],
        ["published", "statement", "On the strike", url]
    );

    assert_eq!(
        run(dir.path(), &["post", "pin", url]).unwrap(),
        format!("pinned {url}")
    );
    assert_eq!(
        run(
            dir.path(),
            &[
                "post",
                "edit",
                fields[0],
                "--title",
                "On the strike (corrected)"
            ]
        )
        .unwrap(),
        url
    );
    assert!(
        run(dir.path(), &["post", "list"])
            .unwrap()
            .contains("On the strike (corrected)")
    );
    assert_eq!(
        run(dir.path(), &["post", "delete", url]).unwrap(),
        format!("retracted {url}")
    );
    assert!(
        run(dir.path(), &["post", "list"])
            .unwrap()
            .contains("\tdeleted\t")
    );

    // Clear errors, non-zero status: a statement without a title, an image without alt
    // text, something that is not an image, a post that does not exist.
    let untitled = run(
        dir.path(),
        &[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "statement",
            "--body",
            "x",
        ],
    );
    assert!(untitled.unwrap_err().contains("needs a title"));
    let no_alt = run(
        dir.path(),
        &[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "news",
            "--body",
            "x",
            "--image",
            image.to_str().unwrap(),
        ],
    );
    assert!(no_alt.unwrap_err().contains("--alt"));
    std::fs::write(dir.path().join("fake.png"), "<script>").unwrap();
    let fake = run(
        dir.path(),
        &[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "news",
            "--body",
            "x",
            "--image",
            dir.path().join("fake.png").to_str().unwrap(),
            "--alt",
            "x",
        ],
    );
    assert!(fake.unwrap_err().contains("not a PNG, JPEG, GIF or WebP"));
    assert!(
        run(dir.path(), &["post", "delete", "999"])
            .unwrap_err()
            .contains("no post 999")
    );
    assert!(
        run(dir.path(), &["post", "list"]).unwrap().lines().count() == 1,
        "nothing half-published"
    );
}

#[test]
fn boosting_a_post_at_an_internal_address_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["actor", "create", "isg", "--name", "ISG"]).unwrap();
    // The cloud metadata address, as an IP literal (it never reaches the DNS check).
    let refused = run(
        dir.path(),
        &[
            "boost",
            "--actor",
            "isg",
            "http://169.254.169.254/latest/meta-data",
        ],
    );
    assert!(refused.unwrap_err().contains("internal address"));
}
