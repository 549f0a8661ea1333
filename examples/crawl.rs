//! A small, polite crawler on the `Reactor`: fetch the first page of a
//! ranked list, find the links to the other pages, fetch them all, and print
//! the items in rank order (the classic "top 250" crawling exercise).
//!
//! ```text
//! cargo run --release --example crawl                        # a local site: 250 items over 10 pages
//! cargo run --release --example crawl -- START_URL [RATE]    # a real site with the same markup
//! ```
//!
//! Politeness: at most RATE requests a second to the site (default 2 for a
//! real site, 50 for the local one), two connections to it, and failures
//! that another try may fix (a 429, 502, 503 or 504, a reset, a refused or
//! timed-out connect) retried up to 4 times with backoff, honouring
//! `Retry-After`. The local site answers each page's first request with
//! 503, so every page is fetched on its second attempt.
//!
//! The pages are read with plain string search, enough for this markup: an
//! item is `<em>RANK</em>` followed by `<span class="title">TITLE</span>`,
//! and page links are `href="..."` values containing `start=`.
//! The example uses `?` on errors; real code should report them per page.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::error::Error;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use multifetch::{Client, Reactor, RetryPolicy, Url};

const ITEMS: usize = 250;
const PER_PAGE: usize = 25;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (start, default_rate) = match args.next() {
        Some(url) => (Url::parse(&url)?, 2.0),
        None => {
            let seen = Mutex::new(HashSet::new());
            let server = common::spawn_server(move |path| local_site(path, &seen))?;
            (Url::parse(&format!("http://{}/top250", server.addr))?, 50.0)
        }
    };
    let rate = match args.next() {
        Some(rate) => rate.parse()?,
        None => default_rate,
    };
    let started = Instant::now();
    let client = Client::builder()
        .max_connections(16)
        .max_connections_per_host(2)
        .max_requests_per_second_per_host(rate)
        .retry(
            RetryPolicy::new()
                .max_attempts(5)
                .backoff(Duration::from_millis(100), Duration::from_secs(10))
                .statuses([429, 502, 503, 504]),
        )
        .build()?;
    let mut reactor = Reactor::new(&client)?;
    let mut seen: HashSet<Url> = HashSet::from([start.clone()]);
    let mut items: BTreeMap<u32, String> = BTreeMap::new();
    let mut pages = 0;
    reactor.submit(start);

    // Each finished page may add more pages to the same reactor while the
    // others are still in flight.
    while let Some(done) = reactor.next_completion()? {
        let response = match done.result {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                eprintln!("{}: HTTP {}", response.url(), response.status());
                continue;
            }
            Err(error) => {
                eprintln!("{error}");
                continue;
            }
        };
        pages += 1;
        let page = response.text();
        items.extend(parse_items(&page));
        for link in page_links(&page) {
            if let Ok(url) = response.url().join(&link) {
                if seen.insert(url.clone()) {
                    reactor.submit(url);
                }
            }
        }
    }

    for (rank, title) in &items {
        outln!("{rank:>3}. {title}");
    }
    let counters = reactor.counters();
    outln!(
        "{} items from {pages} pages in {:.1} ms at most {rate}/s ({} connections opened, {} retries)",
        items.len(),
        started.elapsed().as_secs_f64() * 1e3,
        counters.connections_opened,
        counters.retries
    );
    Ok(())
}

/// `(rank, title)` for every item on a page.
fn parse_items(page: &str) -> Vec<(u32, String)> {
    let mut items = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("<em") {
        rest = &rest[at..];
        let Some(rank) = between(rest, ">", "</em>").and_then(|r| r.trim().parse().ok()) else {
            rest = &rest[3..];
            continue;
        };
        let Some(title) = between(rest, "<span class=\"title\">", "</span>") else {
            break;
        };
        items.push((rank, title.trim().to_owned()));
        rest = &rest[rest.find("</span>").map_or(rest.len(), |i| i + 7)..];
    }
    items
}

/// The `href` values that point at other pages of the list.
fn page_links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|href| href.contains("start="))
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

/// The text between the first `open` and the next `close`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let from = text.find(open)? + open.len();
    let len = text[from..].find(close)?;
    Some(&text[from..from + len])
}

/// The local site: `/top250?start=N` lists items N+1 to N+25, with links to
/// every page, in the markup `parse_items` reads. The first request for each
/// page (tracked in `seen`) gets a 503, as from an overloaded server.
fn local_site(path: &str, seen: &Mutex<HashSet<String>>) -> common::Reply {
    let Some(query) = path.strip_prefix("/top250") else {
        return common::Reply::not_found();
    };
    let first_time = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(path.to_owned());
    if first_time {
        return common::Reply {
            status: "503 Service Unavailable",
            content_type: "text/plain",
            body: b"busy, try again\n".to_vec(),
        };
    }
    let start: usize = query
        .strip_prefix("?start=")
        .and_then(|s| s.split('&').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut html = String::from("<html><body><ol class=\"grid_view\">\n");
    for rank in start + 1..=(start + PER_PAGE).min(ITEMS) {
        html += &format!(
            "<li><div class=\"pic\"><em class=\"\">{rank}</em></div>\
             <div class=\"hd\"><span class=\"title\">{}</span></div></li>\n",
            title(rank)
        );
    }
    html += "</ol><div class=\"paginator\">\n";
    for page in 0..ITEMS / PER_PAGE {
        html += &format!(
            "<a href=\"?start={}&amp;filter=\">{}</a>\n",
            page * PER_PAGE,
            page + 1
        );
    }
    html += "</div></body></html>\n";
    common::Reply::html(html)
}

/// A made-up film title for a rank, different for every rank.
fn title(rank: usize) -> String {
    const FIRST: [&str; 10] = [
        "The Silent",
        "A Distant",
        "The Last",
        "Midnight",
        "The Golden",
        "Crimson",
        "The Hidden",
        "Northern",
        "The Long",
        "Paper",
    ];
    const SECOND: [&str; 25] = [
        "River",
        "Garden",
        "Harbour",
        "Station",
        "Mountain",
        "Letter",
        "Orchard",
        "Lantern",
        "Voyage",
        "Winter",
        "Island",
        "Bridge",
        "Meadow",
        "Compass",
        "Lighthouse",
        "Canyon",
        "Festival",
        "Archive",
        "Horizon",
        "Kingdom",
        "Mirror",
        "Violin",
        "Caravan",
        "Monsoon",
        "Observatory",
    ];
    format!("{} {}", FIRST[(rank - 1) / 25], SECOND[(rank - 1) % 25])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_site_parses_back_to_its_items() {
        let seen = Mutex::new(HashSet::new());
        let path = "/top250?start=225&filter=";
        assert_eq!(local_site(path, &seen).status, "503 Service Unavailable");
        let common::Reply { body, .. } = local_site(path, &seen);
        let page = String::from_utf8(body).unwrap();
        let items = parse_items(&page);
        assert_eq!(items.len(), 25);
        assert_eq!(items[0], (226, title(226)));
        assert_eq!(page_links(&page).len(), 10);
        assert_eq!(page_links(&page)[1], "?start=25&filter=");
    }
}
