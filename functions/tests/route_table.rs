//! `template.yaml`, the binaries and the route table say the same thing, and the template
//! is wired the way its comments say (deploy order, logs, throttling, alarms, IAM).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use crm_core::{
    config::{DatabaseRole, Needs},
    service::exports,
    webhooks,
};
use crm_functions::routes::{self, NON_HTTP_FUNCTIONS, routes};
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
    resources_of_type(t, "AWS::Serverless::Function")
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

/// A YAML fragment with CloudFormation short tags, compared tag and all
/// (`!Ref X` is not the string `X`).
fn yaml(text: &str) -> Value {
    yaml_serde::from_str(text).unwrap()
}

/// `DependsOn` as a list, whether the template wrote one name or a list.
fn depends_on(resource: &Value) -> Vec<String> {
    match &resource["DependsOn"] {
        Value::String(one) => vec![one.clone()],
        Value::Sequence(many) => many.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// (namespace, metric name) of every graph in the dashboard body: metric rows as they
/// are, `SEARCH('{"<namespace>",Route} MetricName="<name>"', …)` as "<namespace> by Route".
fn dashboard_metrics(body: &str) -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut shown = BTreeSet::new();
    for widget in doc["widgets"].as_array().unwrap() {
        for row in widget["properties"]["metrics"].as_array().into_iter().flatten() {
            if let Some(expression) = row[0]["expression"].as_str() {
                let schema = expression.split_once("{\"").and_then(|(_, rest)| rest.split_once("\",Route}"));
                let name = expression.split_once("MetricName=\"").and_then(|(_, rest)| rest.split_once('"'));
                if let (Some((namespace, _)), Some((name, _))) = (schema, name) {
                    shown.insert((format!("{namespace} by Route"), name.to_owned()));
                }
            } else if let (Some(namespace), Some(name)) = (row[0].as_str(), row[1].as_str()) {
                shown.insert((namespace.to_owned(), name.to_owned()));
            }
        }
    }
    shown
}

/// The function ids the template gives the events queue to: publishers send, the
/// consumer polls. Which services publish: `shared/src/service/tickets.rs` (create,
/// set_status, assign; an edit records a timeline entry but no outbox event) and
/// `shared/src/service/sla.rs` (the monitor's `ticket.sla_breached`).
const QUEUE_USERS: &[(&str, &str)] = &[
    ("TicketsCreateFunction", "SQSSendMessagePolicy"),
    ("TicketsStatusFunction", "SQSSendMessagePolicy"),
    ("TicketsAssignFunction", "SQSSendMessagePolicy"),
    ("SlaMonitorFunction", "SQSSendMessagePolicy"),
    ("OutboxSweeperFunction", "SQSSendMessagePolicy"),
    ("TicketConsumerFunction", "SQSPollerPolicy"),
];

/// The function ids the template lets send to the webhook queue: the consumer sends the
/// deliveries it fans an event out to, the sweeper re-drives due ones whose message was
/// lost, webhooks-test and webhooks-redeliver queue one, and the dispatcher sends a failed
/// delivery back with a delay for its next retry. Only the dispatcher consumes the queue,
/// through its event source mapping (SAM's SQS event grants receive and delete).
const WEBHOOK_QUEUE_USERS: &[&str] = &[
    "TicketConsumerFunction",
    "OutboxSweeperFunction",
    "WebhooksTestFunction",
    "WebhooksRedeliverFunction",
    "WebhookDispatcherFunction",
];

/// The function ids the template lets send to the export queue: tenant-exports-create
/// queues a new export, and the sweeper re-drives unfinished ones whose message was lost
/// or whose run died. Only tenant-export consumes the queue, through its event source
/// mapping; it sends nothing (a failed run is reported and its message comes back).
const EXPORT_QUEUE_USERS: &[&str] = &["TenantExportsCreateFunction", "OutboxSweeperFunction"];

/// The SAM policy templates of a function, each with the queue it names (inline
/// statements are the mailers' and the bucket users', checked apart).
fn policy_templates(function: &Value) -> Vec<(String, Value)> {
    function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| p.as_mapping().unwrap())
        .filter(|(name, _)| name.as_str() != Some("Statement"))
        .map(|(name, template)| (name.as_str().unwrap().to_owned(), template["QueueName"].clone()))
        .collect()
}

/// The names of the policy templates a function has on `queue` (a logical id).
fn policies_on(function: &Value, queue: &str) -> Vec<String> {
    let queue = yaml(&format!("!GetAtt {queue}.QueueName"));
    policy_templates(function).into_iter().filter(|(_, q)| *q == queue).map(|(name, _)| name).collect()
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
fn every_function_is_built_by_cargo_lambda_for_al2023_on_the_architecture_parameter() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], yaml("[!Ref Architecture]"));
    let architecture = &t["Parameters"]["Architecture"];
    assert_eq!(architecture["Default"], "arm64");
    assert_eq!(architecture["AllowedValues"], yaml("[arm64, x86_64]"));
    assert_eq!(globals["Tracing"], "Active");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
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
        .chain(NON_HTTP_FUNCTIONS.iter().map(|(f, _)| f.to_string()))
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
        .chain(NON_HTTP_FUNCTIONS.iter().map(|(f, _)| f.to_string()))
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
    for status in ["202", "413", "415", "422", "503"] {
        assert!(register[status].is_object(), "register documents {status}");
    }
    assert!(register["401"].is_null() && register["409"].is_null(), "register needs no token and tells nothing");
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

#[test]
fn migrations_run_through_a_custom_resource_before_any_other_function_goes_live() {
    let t = template();
    let resources = &t["Resources"];
    let custom: Vec<(String, &Value)> = resources
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| {
            r["Type"].as_str().is_some_and(|k| k.starts_with("Custom::") || k == "AWS::CloudFormation::CustomResource")
        })
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect();
    assert_eq!(custom.len(), 1, "one custom resource: the migrations");
    let (migrations, resource) = &custom[0];
    let properties = &resource["Properties"];
    assert_eq!(properties["ServiceToken"], yaml("!GetAtt MigrateFunction.Arn"));
    // A property that changes on every deploy makes CloudFormation send Update each time.
    assert_eq!(properties["DeployId"], yaml("!Ref DeployId"));
    assert!(t["Parameters"]["DeployId"]["Default"].as_str().is_some());
    // The migrate function answers before CloudFormation stops waiting.
    let service_timeout = properties["ServiceTimeout"].as_u64().expect("ServiceTimeout");
    let migrate_timeout = resources["MigrateFunction"]["Properties"]["Timeout"].as_u64().unwrap();
    assert!(migrate_timeout < service_timeout && service_timeout <= 3600, "{migrate_timeout} < {service_timeout}");
    assert_eq!(resources["MigrateFunction"]["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"], 0);

    for (id, function) in functions(&t) {
        let deps = depends_on(function);
        if id == "MigrateFunction" {
            assert!(!deps.contains(migrations), "the migrate function cannot wait for itself");
        } else {
            assert!(deps.contains(migrations), "{id} must DependsOn {migrations}");
        }
    }
}

#[test]
fn every_function_has_a_log_group_kept_for_the_retention_parameter() {
    let t = template();
    let groups: BTreeMap<String, &Value> = resources_of_type(&t, "AWS::Logs::LogGroup")
        .into_iter()
        .filter_map(|(_, g)| Some((g["Properties"]["LogGroupName"].as_str()?.to_owned(), g)))
        .collect();
    let retention = yaml("!Ref LogRetentionDays");
    for (id, _) in functions(&t) {
        let name = format!("/aws/lambda/${{{id}}}");
        let group = groups.get(&name).unwrap_or_else(|| panic!("{id} has no log group {name}"));
        assert_eq!(group["Properties"]["LogGroupName"], yaml(&format!("!Sub '{name}'")), "{id}");
        assert_eq!(group["Properties"]["RetentionInDays"], retention, "{id}");
    }
    let access = &t["Resources"]["ApiAccessLogGroup"];
    assert_eq!(access["Type"], "AWS::Logs::LogGroup");
    assert_eq!(access["Properties"]["RetentionInDays"], retention);
}

#[test]
fn the_api_throttles_every_route_harder_on_auth_and_logs_each_request_as_json() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let defaults = &api["DefaultRouteSettings"];
    assert_eq!(defaults["ThrottlingBurstLimit"], yaml("!Ref ApiThrottlingBurstLimit"));
    assert_eq!(defaults["ThrottlingRateLimit"], yaml("!Ref ApiThrottlingRateLimit"));

    let keys: BTreeSet<String> = routes().iter().map(|r| r.key()).collect();
    let per_route = api["RouteSettings"].as_mapping().unwrap();
    let throttled: BTreeSet<String> = per_route.keys().map(|k| k.as_str().unwrap().to_owned()).collect();
    // Every route that takes no access token and costs a password hash, a mail or a
    // guess at a secret.
    let expected: BTreeSet<String> = [
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/register",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/verify-email",
        "POST /api/v1/auth/password/forgot",
        "POST /api/v1/auth/password/reset",
        "POST /api/v1/auth/accept-invitation",
    ]
    .map(String::from)
    .into();
    assert_eq!(throttled, expected);
    for (key, settings) in per_route {
        assert!(keys.contains(key.as_str().unwrap()), "{key:?} is not a route key of the route table");
        assert_eq!(settings["ThrottlingBurstLimit"], yaml("!Ref AuthThrottlingBurstLimit"));
        assert_eq!(settings["ThrottlingRateLimit"], yaml("!Ref AuthThrottlingRateLimit"));
    }
    // The stricter limits are stricter by default.
    let default_of = |name: &str| t["Parameters"][name]["Default"].as_u64().unwrap();
    assert!(default_of("AuthThrottlingBurstLimit") < default_of("ApiThrottlingBurstLimit"));
    assert!(default_of("AuthThrottlingRateLimit") < default_of("ApiThrottlingRateLimit"));

    let access = &api["AccessLogSettings"];
    let destination = access["DestinationArn"].as_str().unwrap();
    assert!(destination.contains("${ApiAccessLogGroup}"), "access logs go to ApiAccessLogGroup: {destination}");
    let format: serde_json::Value = serde_json::from_str(access["Format"].as_str().unwrap()).unwrap();
    for field in [
        "requestId",
        "ip",
        "requestTime",
        "httpMethod",
        "routeKey",
        "status",
        "protocol",
        "responseLength",
        "integrationLatency",
        "responseLatency",
        "integrationErrorMessage",
    ] {
        assert!(format[field].as_str().is_some_and(|v| v.starts_with("$context.")), "access log lacks {field}");
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_and_every_function_has_its_error_and_throttle_alarms() {
    let t = template();
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    let action = yaml("!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref 'AWS::NoValue']");
    for (id, alarm) in &alarms {
        assert_eq!(alarm["Properties"]["AlarmActions"], action, "{id}");
        assert!(alarm["Properties"]["AlarmDescription"].as_str().is_some(), "{id} says what it means");
    }
    let ids: BTreeSet<&str> = alarms.iter().map(|(id, _)| id.as_str()).collect();
    for named in [
        "DeadLetterAlarm",
        "WebhookDeadLetterAlarm",
        "ExportDeadLetterAlarm",
        "EventsQueueAgeAlarm",
        "OutboxLagAlarm",
        "Api5xxRateAlarm",
    ] {
        assert!(ids.contains(named), "{named} is missing");
    }
    for (function, _) in functions(&t) {
        for metric in ["Errors", "Throttles"] {
            let id = format!("{function}{metric}Alarm");
            let alarm = &t["Resources"][id.as_str()]["Properties"];
            assert_eq!(alarm["Namespace"], "AWS/Lambda", "{id}");
            assert_eq!(alarm["MetricName"], metric, "{id}");
            assert_eq!(alarm["Dimensions"][0]["Value"], yaml(&format!("!Ref {function}")), "{id}");
        }
    }

    // The alarms and the dashboard read the namespace the code writes its metrics to.
    let namespace = yaml("!Sub 'SimpleCRM/${AWS::StackName}'");
    assert_eq!(t["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"], namespace);
    let lag = &t["Resources"]["OutboxLagAlarm"]["Properties"];
    assert_eq!(
        (&lag["Namespace"], &lag["MetricName"], &lag["Statistic"]),
        (&namespace, &yaml("OutboxLag"), &yaml("Maximum"))
    );
    let body = t["Resources"]["Dashboard"]["Properties"]["DashboardBody"].as_str().unwrap();
    let shown = dashboard_metrics(body);
    for metric in ["Requests", "Latency", "Errors", "ClientErrors"] {
        assert!(shown.contains(&("SimpleCRM/${AWS::StackName} by Route".into(), metric.into())), "per-route {metric}");
    }
    for metric in ["OutboxLag", "TicketsCreated", "EventsPublished", "ConsumerProcessed", "ConsumerFailed"] {
        assert!(shown.contains(&("SimpleCRM/${AWS::StackName}".into(), metric.into())), "the dashboard shows {metric}");
    }
    for (function, _) in functions(&t) {
        for metric in ["Errors", "Throttles", "ConcurrentExecutions"] {
            let row = format!(r#"["AWS/Lambda", "{metric}", "FunctionName", "${{{function}}}""#);
            assert!(body.contains(&row), "the dashboard shows {metric} of {function}");
        }
    }
}

#[test]
fn only_the_publishers_the_consumer_and_the_sweeper_touch_the_events_queue() {
    let t = template();
    let queue_users: BTreeMap<&str, &str> = QUEUE_USERS.iter().copied().collect();
    assert!(t["Globals"]["Function"]["Environment"]["Variables"]["SQS_QUEUE_URL"].is_null());
    for (id, function) in functions(&t) {
        let policies = policies_on(function, "EventsQueue");
        let queue_url = &function["Properties"]["Environment"]["Variables"]["SQS_QUEUE_URL"];
        match queue_users.get(id.as_str()) {
            Some(policy) => {
                assert_eq!(policies, [*policy], "{id}");
                assert_eq!(queue_url, &yaml("!Ref EventsQueue"), "{id}");
            }
            None => {
                assert!(policies.is_empty(), "{id} needs no events queue policy, has {policies:?}");
                assert!(queue_url.is_null(), "{id} does not use the queue");
            }
        }
    }
}

#[test]
fn the_only_policy_templates_are_rights_on_the_three_queues() {
    let t = template();
    let queues = [
        yaml("!GetAtt EventsQueue.QueueName"),
        yaml("!GetAtt WebhookQueue.QueueName"),
        yaml("!GetAtt ExportQueue.QueueName"),
    ];
    for (id, function) in functions(&t) {
        for (policy, queue) in policy_templates(function) {
            assert!(
                ["SQSSendMessagePolicy", "SQSPollerPolicy"].contains(&policy.as_str()) && queues.contains(&queue),
                "{id} needs no {policy} on {queue:?}"
            );
        }
    }
}

#[test]
fn only_the_webhook_senders_touch_the_webhook_queue_and_only_the_dispatcher_consumes_it() {
    let t = template();
    let resources = &t["Resources"];
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    let settings = [
        ("WEBHOOK_RETRY_SCHEDULE", "WebhookRetrySchedule"),
        ("WEBHOOK_DISABLE_AFTER_FAILURES", "WebhookDisableAfterFailures"),
    ];
    // Private targets are for local development only: no deployed function may allow them.
    for name in ["WEBHOOK_QUEUE_URL", "WEBHOOKS_ALLOW_PRIVATE_TARGETS", settings[0].0, settings[1].0] {
        assert!(globals[name].is_null(), "Globals would give {name} to every function");
    }
    let mut consumed = Vec::new();
    for (id, function) in functions(&t) {
        let variables = &function["Properties"]["Environment"]["Variables"];
        let policies = policies_on(function, "WebhookQueue");
        if WEBHOOK_QUEUE_USERS.contains(&id.as_str()) {
            assert_eq!(policies, ["SQSSendMessagePolicy"], "{id}");
            assert_eq!(variables["WEBHOOK_QUEUE_URL"], yaml("!Ref WebhookQueue"), "{id}");
        } else {
            assert!(policies.is_empty(), "{id} may not send to the webhook queue: {policies:?}");
            assert!(variables["WEBHOOK_QUEUE_URL"].is_null(), "{id} does not use the webhook queue");
        }
        assert!(variables["WEBHOOKS_ALLOW_PRIVATE_TARGETS"].is_null(), "{id}");
        // The retry settings are the dispatcher's alone, from the stack's parameters.
        for (name, parameter) in settings {
            if id == "WebhookDispatcherFunction" {
                assert_eq!(variables[name], yaml(&format!("!Ref {parameter}")), "{id}: {name}");
            } else {
                assert!(variables[name].is_null(), "{id} has no use for {name}");
            }
        }
        for (_, event) in function["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] == "SQS" {
                consumed.push((id.clone(), event["Properties"]["Queue"].clone()));
            }
        }
    }
    assert_eq!(
        consumed,
        [
            ("TicketConsumerFunction".to_owned(), yaml("!GetAtt EventsQueue.Arn")),
            ("WebhookDispatcherFunction".to_owned(), yaml("!GetAtt WebhookQueue.Arn")),
            ("TenantExportFunction".to_owned(), yaml("!GetAtt ExportQueue.Arn")),
        ],
        "one consumer per queue"
    );

    // Partial batch failures, and a cap on concurrency: a dead receiver must not take the
    // account's concurrency or the database's connections.
    let dispatcher = &resources["WebhookDispatcherFunction"]["Properties"];
    let source = &dispatcher["Events"]["Queue"]["Properties"];
    assert_eq!(source["FunctionResponseTypes"], yaml("[ReportBatchItemFailures]"));
    assert_eq!(source["ScalingConfig"]["MaximumConcurrency"], yaml("!Ref WebhookDispatcherMaxConcurrency"));
    let cap = &t["Parameters"]["WebhookDispatcherMaxConcurrency"];
    assert!(cap["MinValue"].as_u64().is_some_and(|n| n >= 2), "SQS event sources take at least 2");
    assert!(cap["Default"].as_u64().is_some_and(|n| (2..=10).contains(&n)), "{:?}", cap["Default"]);

    // A dead-letter queue after as many receives as the events queue allows, and messages
    // hidden for six times the dispatcher's timeout (AWS's advice for event sources).
    let queue = &resources["WebhookQueue"]["Properties"];
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(redrive["deadLetterTargetArn"], yaml("!GetAtt WebhookDeadLetterQueue.Arn"));
    assert_eq!(redrive["maxReceiveCount"], resources["EventsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]);
    let timeout = dispatcher["Timeout"].as_u64().expect("the dispatcher's Timeout");
    let visibility = queue["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility >= 6 * timeout, "VisibilityTimeout {visibility} < 6 × {timeout}");
    let alarm = &resources["WebhookDeadLetterAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(alarm["Dimensions"][0]["Value"], yaml("!GetAtt WebhookDeadLetterQueue.QueueName"));
    let body = resources["Dashboard"]["Properties"]["DashboardBody"].as_str().unwrap();
    for (queue, metric) in [
        ("WebhookQueue", "ApproximateNumberOfMessagesVisible"),
        ("WebhookQueue", "ApproximateNumberOfMessagesNotVisible"),
        ("WebhookQueue", "ApproximateAgeOfOldestMessage"),
        ("WebhookDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
    ] {
        let row = format!(r#"["AWS/SQS", "{metric}", "QueueName", "${{{queue}.QueueName}}""#);
        assert!(body.contains(&row), "the dashboard shows {metric} of {queue}");
    }

    // The parameters' defaults are the code's.
    let parameters = &t["Parameters"];
    assert_eq!(parameters["WebhookRetrySchedule"]["Default"].as_str(), Some(webhooks::DEFAULT_RETRY_SCHEDULE));
    assert_eq!(
        parameters["WebhookDisableAfterFailures"]["Default"].as_u64(),
        Some(u64::from(webhooks::DEFAULT_DISABLE_AFTER_FAILURES))
    );
}

#[test]
fn only_the_export_senders_touch_the_export_queue_and_only_the_exporter_consumes_it() {
    let t = template();
    let resources = &t["Resources"];
    assert!(t["Globals"]["Function"]["Environment"]["Variables"]["EXPORT_QUEUE_URL"].is_null());
    for (id, function) in functions(&t) {
        let variables = &function["Properties"]["Environment"]["Variables"];
        let policies = policies_on(function, "ExportQueue");
        if EXPORT_QUEUE_USERS.contains(&id.as_str()) {
            assert_eq!(policies, ["SQSSendMessagePolicy"], "{id}");
            assert_eq!(variables["EXPORT_QUEUE_URL"], yaml("!Ref ExportQueue"), "{id}");
        } else {
            assert!(policies.is_empty(), "{id} may not send to the export queue: {policies:?}");
            assert!(variables["EXPORT_QUEUE_URL"].is_null(), "{id} does not use the export queue");
        }
    }

    // One export per invocation, for as long as Lambda allows; only the failed one is
    // retried, and no more than two read a whole tenant at once.
    let exporter = &resources["TenantExportFunction"]["Properties"];
    let source = &exporter["Events"]["Queue"];
    assert_eq!(source["Type"], "SQS");
    let source = &source["Properties"];
    assert_eq!(source["Queue"], yaml("!GetAtt ExportQueue.Arn"));
    assert_eq!(source["BatchSize"].as_u64(), Some(1));
    assert_eq!(source["FunctionResponseTypes"], yaml("[ReportBatchItemFailures]"));
    assert_eq!(source["ScalingConfig"]["MaximumConcurrency"].as_u64(), Some(2));
    let timeout = exporter["Timeout"].as_u64().expect("the exporter's Timeout");
    assert_eq!(timeout, 900, "Lambda's maximum: a big tenant takes minutes");
    // A run's lease outlasts the run, and the message stays hidden while it runs, so a
    // duplicate delivery finds the export leased instead of running it twice.
    assert!(exports::LEASE.as_secs() > timeout, "LEASE {:?} ≤ {timeout} s", exports::LEASE);
    let queue = &resources["ExportQueue"]["Properties"];
    let visibility = queue["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility > timeout, "VisibilityTimeout {visibility} ≤ {timeout}");
    // ...and a message back after a run that timed out finds the lease passed, and runs.
    assert!(exports::LEASE.as_secs() < visibility, "LEASE {:?} ≥ {visibility} s", exports::LEASE);
    // The queue gives up when the row does (FAILED after MAX_ATTEMPTS runs).
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(redrive["deadLetterTargetArn"], yaml("!GetAtt ExportDeadLetterQueue.Arn"));
    assert_eq!(redrive["maxReceiveCount"].as_i64(), Some(i64::from(exports::MAX_ATTEMPTS)));
    let alarm = &resources["ExportDeadLetterAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(alarm["Dimensions"][0]["Value"], yaml("!GetAtt ExportDeadLetterQueue.QueueName"));
    let body = resources["Dashboard"]["Properties"]["DashboardBody"].as_str().unwrap();
    for (queue, metric) in [
        ("ExportQueue", "ApproximateNumberOfMessagesVisible"),
        ("ExportQueue", "ApproximateNumberOfMessagesNotVisible"),
        ("ExportQueue", "ApproximateAgeOfOldestMessage"),
        ("ExportDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
    ] {
        let row = format!(r#"["AWS/SQS", "{metric}", "QueueName", "${{{queue}.QueueName}}""#);
        assert!(body.contains(&row), "the dashboard shows {metric} of {queue}");
    }
    for (output, value) in [
        ("ExportQueueUrl", "!Ref ExportQueue"),
        ("ExportDeadLetterQueueUrl", "!Ref ExportDeadLetterQueue"),
        ("ExportDeadLetterQueueArn", "!GetAtt ExportDeadLetterQueue.Arn"),
    ] {
        assert_eq!(t["Outputs"][output]["Value"], yaml(value), "{output}");
    }
}

/// The functions that send mail: account mail, the consumer's ticket mail, and the
/// dispatcher's to the admins of an endpoint it deactivates.
const MAILERS: &[&str] = &[
    "AuthRegisterFunction",
    "AuthPasswordForgotFunction",
    "UsersInviteFunction",
    "TicketConsumerFunction",
    "WebhookDispatcherFunction",
];

#[test]
fn only_the_functions_that_mail_may_send_mail_and_only_from_the_ses_identity() {
    let t = template();
    let variables = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(variables["MAIL_TRANSPORT"], yaml("ses"));
    assert_eq!(variables["MAIL_FROM"], yaml("!Ref MailFromAddress"));
    assert_eq!(variables["APP_BASE_URL"], yaml("!Ref AppBaseUrl"));
    for (id, function) in functions(&t) {
        let statements: Vec<&Value> = statements(function).into_iter().filter(|s| !is_s3(s)).collect();
        let mails = MAILERS.contains(&id.as_str());
        if !mails {
            assert!(statements.is_empty(), "{id} may send no mail: {statements:?}");
            continue;
        }
        assert_eq!(statements.len(), 1, "{id}");
        let statement = statements[0];
        assert_eq!((&statement["Effect"], &statement["Action"]), (&yaml("Allow"), &yaml("ses:SendEmail")), "{id}");
        let resource = format!("{:?}", statement["Resource"]);
        assert!(resource.contains(":identity/${SesIdentity}"), "{id} sends only from the SES identity: {resource}");
    }
}

/// The inline policy statements of a function.
fn statements(function: &Value) -> Vec<&Value> {
    function["Properties"]["Policies"]
        .as_sequence()
        .map(|list| list.iter().filter_map(|p| p["Statement"].as_sequence()).flatten().collect())
        .unwrap_or_default()
}

/// A statement's actions, whether it names one or a list.
fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(one) => vec![one.as_str()],
        Value::Sequence(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_s3(statement: &Value) -> bool {
    let actions = actions(statement);
    !actions.is_empty() && actions.iter().all(|a| a.starts_with("s3:"))
}

/// Every object of every tenant, and the export files only.
const TENANT_OBJECTS: &str = "${AttachmentsBucket.Arn}/tenants/*";
const EXPORT_FILES: &str = "${AttachmentsBucket.Arn}/tenants/*/exports/*";

/// The functions that reach the bucket, the S3 actions each needs (a presigned URL
/// carries the rights of the role that signed it) and the objects they apply to.
const BUCKET_USERS: &[(&str, &[&str], &str)] = &[
    ("AttachmentsCreateFunction", &["s3:PutObject"], TENANT_OBJECTS),
    ("AttachmentsCompleteFunction", &["s3:GetObject"], TENANT_OBJECTS),
    ("AttachmentsListFunction", &[], TENANT_OBJECTS),
    ("AttachmentsGetFunction", &["s3:GetObject"], TENANT_OBJECTS),
    ("AttachmentsDeleteFunction", &["s3:DeleteObject"], TENANT_OBJECTS),
    // Erases a deleted customer's attachment objects.
    ("CustomersDeleteFunction", &["s3:DeleteObject"], TENANT_OBJECTS),
    // Erases an erased customer's attachment objects, and the files of the exports the
    // erasure withdraws.
    ("CustomersEraseFunction", &["s3:DeleteObject"], TENANT_OBJECTS),
    // Expires attachments never completed, and purges deleted tenants' files (exports too).
    ("OutboxSweeperFunction", &["s3:DeleteObject"], TENANT_OBJECTS),
    // Signs the download of a READY export.
    ("TenantExportsGetFunction", &["s3:GetObject"], EXPORT_FILES),
    // Writes an export by multipart upload (create, parts and complete are s3:PutObject)
    // and aborts the upload of a failed run.
    ("TenantExportFunction", &["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], EXPORT_FILES),
];

#[test]
fn only_the_bucket_users_reach_the_bucket_each_with_its_actions_on_tenant_objects() {
    let t = template();
    let bucket = &t["Resources"]["AttachmentsBucket"]["Properties"];
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[setting], yaml("true"), "{setting}");
    }
    assert!(bucket["BucketEncryption"].is_mapping());
    let policy = format!("{:?}", t["Resources"]["AttachmentsBucketPolicy"]["Properties"]["PolicyDocument"]);
    assert!(policy.contains("aws:SecureTransport") && policy.contains("Deny"), "TLS only: {policy}");
    // An export whose run died leaves its parts behind: the bucket drops them after a day.
    let rules = bucket["LifecycleConfiguration"]["Rules"].as_sequence().expect("lifecycle rules");
    assert!(
        rules.iter().any(|r| r["Status"] == "Enabled"
            && r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64() == Some(1)
            && r["Prefix"].is_null()
            && r["Filter"].is_null()),
        "unfinished multipart uploads are aborted after a day, bucket-wide: {rules:?}"
    );
    for (id, function) in functions(&t) {
        let s3: Vec<&Value> = statements(function).into_iter().filter(|s| is_s3(s)).collect();
        let variables = &function["Properties"]["Environment"]["Variables"];
        match BUCKET_USERS.iter().find(|(name, _, _)| *name == id) {
            None => {
                assert!(s3.is_empty(), "{id} may not touch the bucket: {s3:?}");
                assert!(variables.get("ATTACHMENTS_BUCKET").is_none(), "{id}");
            }
            Some((_, expected, objects)) => {
                assert_eq!(variables["ATTACHMENTS_BUCKET"], yaml("!Ref AttachmentsBucket"), "{id}");
                let granted: Vec<&str> = s3.iter().flat_map(|s| actions(s)).collect();
                assert_eq!(granted, *expected, "{id}");
                for statement in s3 {
                    assert_eq!(statement["Effect"], "Allow", "{id}");
                    assert_eq!(statement["Resource"], yaml(&format!("!Sub '{objects}'")), "{id}");
                }
            }
        }
    }
}

/// The secret variables as the template writes them, by name.
fn secret_variables() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("DATABASE_URL", yaml("!Sub '{{resolve:secretsmanager:${DatabaseSecretArn}:SecretString:url}}'")),
        ("APP_DATABASE_URL", yaml("!Sub '{{resolve:secretsmanager:${AppDatabaseSecretArn}:SecretString:url}}'")),
        ("JWT_SECRET", yaml("!Sub '{{resolve:secretsmanager:${JwtSecretArn}:SecretString:key}}'")),
        (
            "JWT_PREVIOUS_SECRET",
            yaml(
                "!If [HasPreviousJwtSecret, !Sub '{{resolve:secretsmanager:${PreviousJwtSecretArn}:SecretString:key}}', \
                 !Ref AWS::NoValue]",
            ),
        ),
    ])
}

/// The variables a function with `needs` is given, and nothing more.
fn secrets_for(needs: Needs) -> BTreeSet<&'static str> {
    let database = match needs.database {
        Some(DatabaseRole::Runtime) => Some("APP_DATABASE_URL"),
        Some(DatabaseRole::Owner) => Some("DATABASE_URL"),
        None => None,
    };
    let jwt = if needs.jwt { &["JWT_SECRET", "JWT_PREVIOUS_SECRET"][..] } else { &[] };
    database.into_iter().chain(jwt.iter().copied()).collect()
}

#[test]
fn each_function_is_given_the_secrets_it_needs_and_no_other() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    let written = secret_variables();
    for name in written.keys() {
        assert!(globals[*name].is_null(), "Globals would give {name} to every function");
    }
    for (id, function) in functions(&t) {
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let needs = routes::needs(binary).unwrap_or_else(|| panic!("{binary} declares no needs"));
        let variables = &function["Properties"]["Environment"]["Variables"];
        // Any variable resolving a secret counts, not only the four known ones.
        let given: BTreeSet<&str> = variables
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, value)| format!("{value:?}").contains("resolve:secretsmanager"))
            .map(|(name, _)| name.as_str().unwrap())
            .collect();
        assert_eq!(given, secrets_for(needs), "{id} ({needs:?})");
        for name in given {
            assert_eq!(variables[name], written[name], "{id}: {name}");
        }
    }
    let needs = |function: &str| routes::needs(function).unwrap();
    assert_eq!(needs("docs"), Needs::NOTHING, "docs serves a compiled-in document");
    assert_eq!(needs("health"), Needs::DATABASE, "health pings the database, checks no token");
    for worker in ["ticket-consumer", "outbox-sweeper", "sla-monitor", "webhook-dispatcher", "tenant-export"] {
        assert_eq!(needs(worker), Needs::DATABASE, "{worker}");
    }
    let webhook_routes: Vec<_> = routes().into_iter().filter(|r| r.path.starts_with("/api/v1/webhooks")).collect();
    assert_eq!(webhook_routes.len(), 8, "the webhook routes");
    for route in webhook_routes {
        assert_eq!(route.needs, Needs::DATABASE_AND_JWT, "{}", route.key());
    }
    assert_eq!(needs("migrate"), Needs::OWNER_DATABASE);
}

/// Whether a route needs the JWT key follows from its OpenAPI operation: it verifies a
/// bearer token, or it answers a new token pair (`AuthSession`). Any other route must
/// not be given the key.
#[test]
fn the_routes_that_verify_or_sign_tokens_are_the_ones_that_need_the_key() {
    let doc: serde_json::Value = serde_json::from_str(crm_functions::openapi::json()).unwrap();
    for route in routes() {
        let operation = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
        let bearer = operation["security"].as_array().unwrap().iter().any(|s| s.get("bearer").is_some());
        let signs = operation["responses"].to_string().contains("#/components/schemas/AuthSession");
        assert_eq!(route.needs.jwt, bearer || signs, "{} (bearer: {bearer}, signs: {signs})", route.key());
    }
}

/// HTTP functions share one reservation parameter, the scheduled functions another, each
/// queue worker has its own, and none reserves anything unless asked (an empty parameter
/// is AWS::NoValue).
#[test]
fn reserved_concurrency_is_a_parameter_per_group_and_off_by_default() {
    let t = template();
    for (parameter, condition) in [
        ("ApiReservedConcurrency", "ReserveApiConcurrency"),
        ("ConsumerReservedConcurrency", "ReserveConsumerConcurrency"),
        ("SweeperReservedConcurrency", "ReserveSweeperConcurrency"),
        ("DispatcherReservedConcurrency", "ReserveDispatcherConcurrency"),
        ("ExporterReservedConcurrency", "ReserveExporterConcurrency"),
    ] {
        assert_eq!(t["Parameters"][parameter]["Default"], yaml("''"), "{parameter}");
        assert_eq!(t["Conditions"][condition], yaml(&format!("!Not [!Equals [!Ref {parameter}, '']]")));
    }
    let reservation =
        |condition: &str, parameter: &str| yaml(&format!("!If [{condition}, !Ref {parameter}, !Ref AWS::NoValue]"));
    for (id, function) in functions(&t) {
        let expected = match id.as_str() {
            "MigrateFunction" => Value::Null,
            "TicketConsumerFunction" => reservation("ReserveConsumerConcurrency", "ConsumerReservedConcurrency"),
            "OutboxSweeperFunction" | "SlaMonitorFunction" => {
                reservation("ReserveSweeperConcurrency", "SweeperReservedConcurrency")
            }
            "WebhookDispatcherFunction" => reservation("ReserveDispatcherConcurrency", "DispatcherReservedConcurrency"),
            "TenantExportFunction" => reservation("ReserveExporterConcurrency", "ExporterReservedConcurrency"),
            _ => reservation("ReserveApiConcurrency", "ApiReservedConcurrency"),
        };
        assert_eq!(function["Properties"]["ReservedConcurrentExecutions"], expected, "{id}");
    }
    assert!(t["Globals"]["Function"]["ReservedConcurrentExecutions"].is_null());
}

/// The RDS Proxy exists only when a target is named, logs in with the runtime role's
/// secret alone (migrate keeps its direct owner connection) and requires TLS.
#[test]
fn the_rds_proxy_is_optional_and_serves_only_the_runtime_role() {
    let t = template();
    assert_eq!(t["Parameters"]["ProxyTargetDBInstance"]["Default"], yaml("''"));
    assert_eq!(t["Parameters"]["ProxyTargetDBCluster"]["Default"], yaml("''"));
    let resources = t["Resources"].as_mapping().unwrap();
    let proxied: Vec<&str> = resources
        .iter()
        .filter(|(_, r)| {
            r["Type"].as_str().is_some_and(|kind| kind.starts_with("AWS::RDS::")) || r["Condition"] == "CreateProxy"
        })
        .map(|(id, _)| id.as_str().unwrap())
        .collect();
    assert_eq!(proxied, ["DatabaseProxyRole", "DatabaseProxy", "DatabaseProxyTargetGroup"]);
    for id in &proxied {
        assert_eq!(t["Resources"][*id]["Condition"], "CreateProxy", "{id}");
    }
    let proxy = &t["Resources"]["DatabaseProxy"]["Properties"];
    assert_eq!(proxy["EngineFamily"], "POSTGRESQL");
    assert_eq!(proxy["RequireTLS"], Value::Bool(true));
    let auth = proxy["Auth"].as_sequence().unwrap();
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0]["SecretArn"], yaml("!Ref AppDatabaseSecretArn"));
    let role = &t["Resources"]["DatabaseProxyRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (&role["Action"], &role["Resource"]),
        (&yaml("secretsmanager:GetSecretValue"), &yaml("!Ref AppDatabaseSecretArn"))
    );
    assert_eq!(t["Outputs"]["DatabaseProxyEndpoint"]["Condition"], "CreateProxy");
}
