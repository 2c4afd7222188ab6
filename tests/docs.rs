//! The book and the README link only to files that exist (mdbook itself only fails on a broken
//! SUMMARY; `.ci/run` builds the book after this).

use std::path::{Path, PathBuf};

/// Every relative link or image target `](target)` in `text`, without its `#anchor`.
fn relative_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split_whitespace().next().unwrap_or("");
        let path = target.split('#').next().unwrap_or("");
        if !path.is_empty() && !path.contains("://") && !path.starts_with("mailto:") {
            out.push(path.to_string());
        }
        rest = &rest[end..];
    }
    out
}

fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("plugin-docs/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_relative_link_in_the_docs_exists() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for link in relative_links(&text) {
            checked += 1;
            if !file.parent().unwrap().join(&link).exists() {
                broken.push(format!("{}: {link}", file.display()));
            }
        }
    }
    assert!(checked > 50, "only {checked} links found: is the parser broken?");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_parser_finds_links_and_skips_urls() {
    let links = relative_links("see [a](a.md#x), ![p](images/p.png \"t\") and [w](https://x.org) [s](#here)");
    assert_eq!(links, vec!["a.md", "images/p.png"]);
}
