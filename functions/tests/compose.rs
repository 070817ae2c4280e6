//! docker-compose.yml cannot be run here (no Docker engine), so its structure is checked:
//! the three services, pinned images, and an API wired to the queue the LocalStack hook
//! creates and to the mounted files that exist.

use std::{fs, path::Path};

use yaml_serde::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn compose_runs_postgres_localstack_and_the_api_against_the_hooks_queue() {
    let compose: Value = yaml_serde::from_str(&fs::read_to_string(root().join("docker-compose.yml")).unwrap()).unwrap();
    let services = &compose["services"];
    assert_eq!(services["postgres"]["image"], "postgres:15");
    let localstack = services["localstack"]["image"].as_str().unwrap();
    assert!(
        localstack.starts_with("localstack/localstack:") && !localstack.ends_with(":latest"),
        "pinned: {localstack}"
    );
    for volume in services["localstack"]["volumes"].as_sequence().unwrap() {
        let host = volume.as_str().unwrap().split(':').next().unwrap();
        assert!(root().join(host).exists(), "mounted path exists: {host}");
    }

    let queues = fs::read_to_string(root().join("localstack/queues.env")).unwrap();
    let queue = queues.lines().find_map(|l| l.strip_prefix("EVENTS_QUEUE=")).unwrap();
    let env = &services["api"]["environment"];
    assert!(env["SQS_QUEUE_URL"].as_str().unwrap().ends_with(&format!("/{queue}")));
    assert!(env["DATABASE_URL"].as_str().unwrap().contains("@postgres:5432/"));
    assert_eq!(services["api"]["depends_on"]["localstack"]["condition"], "service_healthy");
    assert!(root().join("Dockerfile").exists());
}
