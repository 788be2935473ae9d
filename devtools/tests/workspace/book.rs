//! The book (`docs/`, mdBook) and the front door (`README.md`, `CONTRIBUTING.md`) hold
//! together: every relative link reaches a file and, with a `#fragment`, a heading of it;
//! every chapter is in `SUMMARY.md`; every route of `openapi.yaml` is named in a chapter.

use crate::support::workspace;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn chapters() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "md") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&workspace().join("docs/src"), &mut found);
    found.sort();
    found
}

fn documents() -> Vec<PathBuf> {
    let mut all = vec![
        workspace().join("README.md"),
        workspace().join("CONTRIBUTING.md"),
    ];
    all.extend(chapters());
    all
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The anchor mdBook (and GitHub) gives a heading: its text in lower case, white space as
/// `-`, every other character but letters, digits, `-` and `_` dropped; a repeated one gets
/// `-1`, `-2`, …
fn anchor(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_owned())
            } else {
                None
            }
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(heading) = heading.as_mut() {
                    heading.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = anchor(&heading.take().unwrap_or_default());
                let mut id = base.clone();
                let mut n = 0;
                while found.contains(&id) {
                    n += 1;
                    id = format!("{base}-{n}");
                }
                found.insert(id);
            }
            _ => {}
        }
    }
    found
}

fn links(markdown: &str) -> Vec<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_relative_link_of_the_readme_and_the_book_reaches_a_file_and_its_heading() {
    let mut broken = Vec::new();
    for document in documents() {
        let text = read(&document);
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match link.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                document.clone()
            } else {
                document.parent().unwrap().join(file)
            };
            let shown = format!(
                "{} -> {link}",
                document.strip_prefix(workspace()).unwrap().display()
            );
            if !target.exists() {
                broken.push(format!("{shown}: no such file"));
                continue;
            }
            if let Some(fragment) = fragment {
                let is_markdown = target
                    .extension()
                    .is_some_and(|extension| extension == "md");
                if is_markdown && !anchors(&read(&target)).contains(fragment) {
                    broken.push(format!("{shown}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

#[test]
fn every_chapter_is_in_the_summary() {
    let summary_path = workspace().join("docs/src/SUMMARY.md");
    let listed: BTreeSet<PathBuf> = links(&read(&summary_path))
        .iter()
        .map(|link| workspace().join("docs/src").join(link))
        .collect();
    let missing: Vec<_> = chapters()
        .into_iter()
        .filter(|chapter| *chapter != summary_path && !listed.contains(chapter))
        .collect();
    assert!(
        missing.is_empty(),
        "chapters not in SUMMARY.md: {missing:#?}"
    );
}

#[test]
fn every_route_of_the_openapi_description_is_named_in_a_chapter() {
    let text = read(&workspace().join("openapi.yaml"));
    let description: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let book: String = chapters().iter().map(|chapter| read(chapter)).collect();
    let mut unnamed = Vec::new();
    for (path, operations) in description["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            if method == "parameters" {
                continue;
            }
            let route = format!("{} {path}", method.to_uppercase());
            if !book.contains(&route) {
                unnamed.push(route);
            }
        }
    }
    assert!(unnamed.is_empty(), "routes no chapter names: {unnamed:#?}");
}
