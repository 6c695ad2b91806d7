//! The load generator's smoke test: `plaza-bench suite --quick` against the real binary (on
//! SQLite, and on MySQL when `PLAZA_TEST_MYSQL_URL` is set) runs every scenario for a second
//! and writes a report in which every scenario did work without errors. No timing is
//! asserted: only that the generator works.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use plaza_e2e::plaza_bin;
use serde_json::Value;

/// Every scenario the suite runs, per backend.
const SCENARIOS: [&str; 17] = [
    "health",
    "list",
    "detail",
    "create",
    "login",
    "list_during_login",
    "ws_paced",
    "ws_flood",
    "idle",
    "gateway",
    "gateway_stream",
    "list_uncached",
    "detail_uncached",
    "timeline",
    "timeline_deep",
    "presence",
    "mixed",
];

/// The `plaza-bench` binary, built like `plaza_bin()` builds `plaza` (same profile dir).
fn bench_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "plaza-bench",
                "--bin",
                "plaza-bench",
            ])
            .status()
            .expect("run cargo build -p plaza-bench");
        assert!(status.success(), "cargo build -p plaza-bench failed");
        // target/<profile>/deps/<this test> → target/<profile>/plaza-bench
        let exe = std::env::current_exe().expect("the test executable's path");
        exe.parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .join("plaza-bench")
    })
}

fn mysql_url() -> Option<String> {
    match std::env::var("PLAZA_TEST_MYSQL_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("PLAZA_TEST_REQUIRE_MYSQL").as_deref() != Ok("1"),
                "PLAZA_TEST_REQUIRE_MYSQL=1 but PLAZA_TEST_MYSQL_URL is not set"
            );
            None
        }
    }
}

#[test]
fn quick_suite_runs_every_scenario_on_every_backend() {
    let plaza = plaza_bin();
    let bench = bench_bin();
    let out = tempfile::tempdir().unwrap();
    let mysql = mysql_url();

    let mut command = Command::new(bench);
    command
        .arg("suite")
        .arg("--plaza")
        .arg(plaza)
        .arg("--quick")
        .arg("--out")
        .arg(out.path())
        .env_remove("PLAZA_BENCH_MYSQL_URL");
    if let Some(url) = &mysql {
        command.arg("--mysql").arg(url);
    }
    let status = command.status().expect("run plaza-bench suite");

    let report_path = out.path().join("report.json");
    let text = std::fs::read_to_string(&report_path)
        .unwrap_or_else(|e| panic!("{} not written: {e}", report_path.display()));
    assert!(
        status.success(),
        "plaza-bench suite failed ({status}):\n{text}"
    );
    assert!(out.path().join("report.md").is_file());
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["ok"], true);

    let backends = report["backends"].as_array().unwrap();
    let expected: Vec<&str> = if mysql.is_some() {
        vec!["sqlite", "mysql"]
    } else {
        vec!["sqlite"]
    };
    let names: Vec<&str> = backends
        .iter()
        .map(|b| b["backend"].as_str().unwrap())
        .collect();
    assert_eq!(names, expected);

    for backend in backends {
        let name = backend["backend"].as_str().unwrap();
        assert_eq!(backend["failures"], Value::Array(vec![]), "{name}");

        // Cold start and RSS right after it, for both starts.
        let starts = backend["starts"].as_array().unwrap();
        assert_eq!(
            starts.len(),
            3,
            "{name}: a cached, an uncached and a mixed start"
        );
        for start in starts {
            assert!(
                start["cold_start_ms"].as_f64().unwrap() > 0.0,
                "{name}: {start}"
            );
            assert!(
                start["idle_rss_mb"].as_f64().unwrap() > 0.0,
                "{name}: {start}"
            );
        }

        // Every scenario did work, without errors (WebSocket losses are not errors).
        let scenarios = backend["scenarios"].as_array().unwrap();
        for wanted in SCENARIOS {
            let scenario = scenarios
                .iter()
                .find(|s| s["name"] == wanted)
                .unwrap_or_else(|| panic!("{name}: no {wanted} in the report"));
            let summary = &scenario["summary"];
            assert!(
                summary["ops"].as_u64().unwrap() > 0,
                "{name}/{wanted}: no operations: {summary}"
            );
            assert_eq!(
                summary["errors"],
                Value::Object(serde_json::Map::new()),
                "{name}/{wanted}: errors: {}",
                scenario["runs"]
            );
        }
        for relay in ["ws_paced", "ws_flood"] {
            let ws = &scenarios.iter().find(|s| s["name"] == relay).unwrap()["summary"]["ws"];
            assert!(ws["sent"].as_u64().unwrap() > 0, "{name}/{relay}: {ws}");
            assert!(
                ws["delivered"].as_u64().unwrap() > 0,
                "{name}/{relay}: {ws}"
            );
        }

        // Every idle socket opened, and the server's memory was read around them.
        let idle = &scenarios.iter().find(|s| s["name"] == "idle").unwrap()["runs"][0]["idle"];
        assert_eq!(idle["opened"], idle["requested"], "{name}: {idle}");
        assert_eq!(idle["requested"], 50, "{name}: --quick opens 50");
        assert!(
            idle["rss_before_mb"].as_f64().unwrap() > 0.0,
            "{name}: {idle}"
        );
        assert!(
            idle["rss_after_mb"].as_f64().unwrap() > 0.0,
            "{name}: {idle}"
        );

        // Statements per request were measured, or are null with a note.
        let statements = &backend["statements"];
        assert_eq!(
            statements["rows"].as_array().unwrap().len(),
            5,
            "{statements}"
        );
        if statements["present"] == false {
            assert!(statements["note"].is_string(), "{statements}");
        }
    }
}
