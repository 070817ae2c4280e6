//! `template.yaml`, the binaries and the route table say the same thing.

use std::{collections::BTreeSet, fs, path::Path};

use crm_functions::routes::{NON_HTTP_FUNCTIONS, routes};
use yaml_serde::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn template() -> Value {
    let text = fs::read_to_string(root().join("template.yaml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

/// `users-get` → `UsersGetFunction`.
fn logical_id(function: &str) -> String {
    let pascal: String = function
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect();
    format!("{pascal}Function")
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

#[test]
fn template_routes_equal_the_route_table() {
    let t = template();
    let mut declared = BTreeSet::new();
    for (id, resource) in functions(&t) {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"] == "HttpApi" {
                let p = &event["Properties"];
                declared.insert((
                    p["Method"].as_str().unwrap().to_owned(),
                    p["Path"].as_str().unwrap().to_owned(),
                    id.clone(),
                ));
            }
        }
    }
    let expected: BTreeSet<_> =
        routes().iter().map(|r| (r.method.to_string(), r.path.to_owned(), logical_id(r.function))).collect();
    assert_eq!(declared, expected);
}

#[test]
fn every_function_is_built_by_cargo_lambda_for_arm64_al2023() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], yaml_serde::from_str::<Value>("[arm64]").unwrap());
    let mut binaries = BTreeSet::new();
    for (id, resource) in functions(&t) {
        assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        assert_eq!(logical_id(&binary), id, "logical id matches the binary name");
        for key in ["Runtime", "Architectures"] {
            assert!(resource["Properties"][key].is_null(), "{id} overrides {key}");
        }
        binaries.insert(binary);
    }
    let expected: BTreeSet<String> = routes()
        .iter()
        .map(|r| r.function.to_owned())
        .chain(NON_HTTP_FUNCTIONS.iter().map(|f| f.to_string()))
        .collect();
    assert_eq!(binaries, expected);
}

#[test]
fn each_binary_runs_the_controller_its_route_names() {
    let bin_dir = root().join("functions/src/bin");
    let on_disk: BTreeSet<String> = fs::read_dir(&bin_dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".rs").map(str::to_owned))
        .collect();
    let expected: BTreeSet<String> = routes()
        .iter()
        .map(|r| r.function.to_owned())
        .chain(NON_HTTP_FUNCTIONS.iter().map(|f| f.to_string()))
        .collect();
    assert_eq!(on_disk, expected);
    for route in routes() {
        let source = fs::read_to_string(bin_dir.join(format!("{}.rs", route.function))).unwrap();
        let handler = format!("crm_functions::{}", route.handler_name.replace(' ', ""));
        assert!(source.contains(&handler), "{} must call {handler}", route.function);
        assert!(source.contains("CARGO_BIN_NAME"), "{} names itself by its binary", route.function);
    }
}

#[test]
fn the_openapi_document_describes_exactly_the_routes() {
    let doc: serde_json::Value = serde_json::from_str(crm_functions::openapi::json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    let expected: BTreeSet<_> = routes().iter().map(|r| (r.method.to_string(), r.path.to_owned())).collect();
    assert_eq!(described, expected);

    // Shared error responses are attached where they apply.
    let register = &doc["paths"]["/api/v1/auth/register"]["post"]["responses"];
    for status in ["201", "409", "413", "415", "422", "503"] {
        assert!(register[status].is_object(), "register documents {status}");
    }
    assert!(register["401"].is_null(), "register needs no token");
    let list = &doc["paths"]["/api/v1/users"]["get"];
    assert!(list["responses"]["401"].is_object() && list["responses"]["400"].is_object());
    assert_eq!(list["security"][0]["bearer"], serde_json::json!([]));
    let password = &doc["components"]["schemas"]["RegisterInput"]["properties"]["password"];
    assert_eq!((password["minLength"].as_u64(), password["maxLength"].as_u64()), (Some(8), Some(128)));
}

#[test]
fn the_pipeline_is_wired_for_partial_batch_failures_and_a_dead_letter_queue() {
    let t = template();
    let resources = &t["Resources"];
    let consumer = &resources["TicketConsumerFunction"]["Properties"]["Events"]["Queue"];
    assert_eq!(consumer["Type"], "SQS");
    assert_eq!(consumer["Properties"]["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert!(consumer["Properties"]["ScalingConfig"]["MaximumConcurrency"].as_u64().is_some_and(|n| n >= 2));
    let redrive = &resources["EventsQueue"]["Properties"]["RedrivePolicy"];
    assert_eq!(redrive["maxReceiveCount"], 5);
    let sweeper = &resources["OutboxSweeperFunction"]["Properties"]["Events"]["Schedule"];
    assert_eq!(sweeper["Type"], "ScheduleV2");
    assert_eq!(resources["DeadLetterAlarm"]["Type"], "AWS::CloudWatch::Alarm");
}
