//! deploy/kubernetes/ rendered with `kubectl kustomize` and checked without a
//! cluster (deploy/kubernetes/README.md, "What is verified"):
//!
//! - both overlays render, with the objects each should have;
//! - every exporter Deployment: non-root, read-only root filesystem, no
//!   privilege escalation, every capability dropped; probes on paths the real
//!   binary answers; the container port is the exporter's default; the image
//!   is the one the Dockerfile builds, tagged with the crate's version; the
//!   connection string, config and web config come from mounted Secrets and
//!   ConfigMaps at the paths the arguments name;
//! - Services select their pods, the ServiceMonitor selects the Services;
//! - the PrometheusRules' groups pass `promtool check rules` and equal
//!   alerts/pgmig-*.yml; the dashboard ConfigMaps equal grafana/dashboards/;
//! - the generated files are fresh (`generate.py --check`);
//! - the many-targets config passes `--check-config`.
//!
//! `kubectl` is the one on PATH, or `$PGMIG_TEST_KUBECTL`; the manifests keep
//! to kustomize v2.0 features so Debian's kubernetes-client (1.20) renders
//! them as well as a current kubectl.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

const EXPORTER: &str = env!("CARGO_BIN_EXE_pg_migration_exporter");
const OVERLAYS: [&str; 2] = ["one-per-database", "many-targets"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kubectl() -> String {
    std::env::var("PGMIG_TEST_KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

/// The overlay rendered by `kubectl kustomize`, one Value per object.
fn render(overlay: &str) -> Vec<Value> {
    let dir = root().join("deploy/kubernetes/overlays").join(overlay);
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "run {} (scripts/install-deps installs kubernetes-client): {e}",
                kubectl()
            )
        });
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect();
    assert!(!docs.is_empty(), "{overlay} rendered nothing");
    docs
}

fn s<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[key],
        };
    }
    cur
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    s(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string in {v:?}"))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn names(objs: &[&Value]) -> Vec<String> {
    let mut n: Vec<String> = objs
        .iter()
        .map(|o| str_at(o, "metadata.name").to_string())
        .collect();
    n.sort();
    n
}

/// Does `selector` (a matchLabels-style mapping) select `labels`?
fn selects(selector: &Value, labels: &Value) -> bool {
    let sel = selector.as_mapping().expect("selector mapping");
    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn both_overlays_render_with_the_expected_objects() {
    let one = render("one-per-database");
    assert_eq!(
        names(&of_kind(&one, "Deployment")),
        [
            "pg-migration-exporter-billing",
            "pg-migration-exporter-orders"
        ]
    );
    assert_eq!(
        names(&of_kind(&one, "Service")),
        [
            "pg-migration-exporter-billing",
            "pg-migration-exporter-orders"
        ]
    );
    let many = render("many-targets");
    assert_eq!(
        names(&of_kind(&many, "Deployment")),
        ["pg-migration-exporter"]
    );
    assert_eq!(names(&of_kind(&many, "Service")), ["pg-migration-exporter"]);
    for (overlay, docs) in [("one-per-database", &one), ("many-targets", &many)] {
        // Monitoring objects exist once, whatever the number of exporters.
        assert_eq!(of_kind(docs, "ServiceMonitor").len(), 1, "{overlay}");
        assert_eq!(
            names(&of_kind(docs, "PrometheusRule")),
            ["pgmig-alerts", "pgmig-rules", "pgmig-serverlog-alerts"],
            "{overlay}"
        );
        let boards: Vec<&Value> = of_kind(docs, "ConfigMap")
            .into_iter()
            .filter(|c| s(c, "metadata.labels.grafana_dashboard").as_str() == Some("1"))
            .collect();
        assert_eq!(boards.len(), dashboards().len(), "{overlay}");
        // No Secret is rendered: the operator creates them, the manifests only refer to them.
        assert!(of_kind(docs, "Secret").is_empty(), "{overlay}");
        // Services select their exporter's pods and nothing else's; the
        // ServiceMonitor selects every Service on its named port.
        let deployments = of_kind(docs, "Deployment");
        let services = of_kind(docs, "Service");
        for svc in &services {
            let sel = s(svc, "spec.selector");
            let matched: Vec<&&Value> = deployments
                .iter()
                .filter(|d| selects(sel, s(d, "spec.template.metadata.labels")))
                .collect();
            assert_eq!(matched.len(), 1, "{overlay}: {sel:?}");
            assert_eq!(
                str_at(matched[0], "metadata.name"),
                str_at(svc, "metadata.name")
            );
            assert_eq!(str_at(svc, "spec.ports.0.targetPort"), "http");
        }
        let sm = of_kind(docs, "ServiceMonitor")[0];
        for svc in &services {
            assert!(
                selects(
                    s(sm, "spec.selector.matchLabels"),
                    s(svc, "metadata.labels")
                ),
                "{overlay}: the ServiceMonitor misses {:?}",
                s(svc, "metadata.name")
            );
        }
        let ep = s(sm, "spec.endpoints.0");
        assert_eq!(str_at(ep, "port"), str_at(services[0], "spec.ports.0.name"));
        assert_eq!(str_at(ep, "path"), "/metrics");
        assert!(s(ep, "basicAuth.password.name").is_string());
    }
}

/// The exporter container of a Deployment.
fn container(d: &Value) -> &Value {
    let cs = s(d, "spec.template.spec.containers").as_sequence().unwrap();
    assert_eq!(cs.len(), 1);
    &cs[0]
}

fn env_value<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    s(c, "env")
        .as_sequence()?
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| str_at(e, "value"))
}

/// The volume mounted at the directory holding `file`, if any.
fn volume_for<'a>(d: &'a Value, file: &str) -> Option<&'a Value> {
    let c = container(d);
    let dir = Path::new(file).parent()?.to_str()?;
    let mount = s(c, "volumeMounts")
        .as_sequence()?
        .iter()
        .find(|m| m["mountPath"] == dir)?;
    assert_eq!(mount["readOnly"], true, "{mount:?}");
    s(d, "spec.template.spec.volumes")
        .as_sequence()?
        .iter()
        .find(|v| v["name"] == mount["name"])
}

fn image_name() -> String {
    let compose = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let compose: Value = serde_yaml_ng::from_str(&compose).unwrap();
    let image = str_at(&compose, "services.exporter.image");
    image.split(':').next().unwrap().to_string()
}

fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[test]
fn deployments_are_locked_down_and_wired_to_their_secrets() {
    let default_port: u16 = pg_migration_exporter::config::DEFAULT_LISTEN_ADDRESS
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for overlay in OVERLAYS {
        let docs = render(overlay);
        for d in of_kind(&docs, "Deployment") {
            let name = str_at(d, "metadata.name");
            let pod = s(d, "spec.template.spec");
            let c = container(d);
            assert_eq!(s(pod, "securityContext.runAsNonRoot"), &Value::from(true));
            assert_ne!(s(pod, "securityContext.runAsUser"), &Value::from(0));
            let sc = s(c, "securityContext");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(sc["runAsNonRoot"], true, "{name}");
            assert_eq!(
                s(sc, "capabilities.drop"),
                &Value::Sequence(vec!["ALL".into()]),
                "{name}"
            );
            assert!(s(sc, "capabilities.add").is_null(), "{name}");
            assert!(s(c, "resources.requests.cpu").is_string(), "{name}");
            assert!(s(c, "resources.requests.memory").is_string(), "{name}");
            assert!(s(c, "resources.limits.memory").is_string(), "{name}");
            assert_eq!(
                str_at(c, "image"),
                format!("{}:{}", image_name(), crate_version()),
                "{name}"
            );
            // The named port is the exporter's default, which the arguments keep.
            assert_eq!(str_at(c, "ports.0.name"), "http");
            assert_eq!(s(c, "ports.0.containerPort"), &Value::from(default_port));
            let args: Vec<&str> = s(c, "args")
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert!(args.contains(&format!("--web.listen-address=:{default_port}").as_str()));
            for probe in ["livenessProbe", "readinessProbe"] {
                assert_eq!(str_at(c, &format!("{probe}.httpGet.port")), "http");
                assert!(s(c, &format!("{probe}.httpGet.httpHeaders")).is_null());
            }
            assert_eq!(str_at(c, "livenessProbe.httpGet.path"), "/healthz");
            assert_eq!(str_at(c, "readinessProbe.httpGet.path"), "/readyz");
            // The web config comes from a Secret mounted where the flag points.
            let web = args
                .iter()
                .find_map(|a| a.strip_prefix("--web.config.file="))
                .expect("--web.config.file");
            let vol = volume_for(d, web).expect("web config volume");
            assert!(s(vol, "secret.secretName").is_string(), "{vol:?}");
            match overlay {
                "one-per-database" => {
                    let url = env_value(c, "PGMIG_DATABASE_URL_FILE").expect("DSN file");
                    let vol = volume_for(d, url).expect("DSN volume");
                    let secret = str_at(vol, "secret.secretName");
                    let target = env_value(c, "PGMIG_TARGET_NAME").expect("target name");
                    assert_eq!(secret, format!("pg-migration-exporter-dsn-{target}"));
                    assert_eq!(name, format!("pg-migration-exporter-{target}"));
                    assert!(env_value(c, "PGMIG_CONFIG_FILE").is_none());
                }
                _ => {
                    assert!(env_value(c, "PGMIG_DATABASE_URL_FILE").is_none());
                    let file = env_value(c, "PGMIG_CONFIG_FILE").expect("config file");
                    let vol = volume_for(d, file).expect("config volume");
                    let cm_name = str_at(vol, "configMap.name");
                    let cm = of_kind(&docs, "ConfigMap")
                        .into_iter()
                        .find(|m| m["metadata"]["name"] == cm_name)
                        .expect("the config ConfigMap is rendered");
                    let key = Path::new(file).file_name().unwrap().to_str().unwrap();
                    let config = s(cm, "data")[key]
                        .as_str()
                        .expect("config in the ConfigMap");
                    check_many_targets_config(d, config);
                }
            }
        }
    }
}

/// The config passes `--check-config` once its dsn_file paths point at
/// files, and every dsn_file lies in the mounted DSN Secret.
fn check_many_targets_config(d: &Value, config: &str) {
    let parsed: Value = serde_yaml_ng::from_str(config).unwrap();
    let targets = s(&parsed, "targets").as_sequence().unwrap();
    assert!(targets.len() > 1, "many targets: {targets:?}");
    let dir = tempdir("k8s-config");
    let mut local = config.to_string();
    for t in targets {
        let file = str_at(t, "dsn_file");
        let vol = volume_for(d, file).expect("dsn_file is in a mounted volume");
        assert_eq!(
            str_at(vol, "secret.secretName"),
            "pg-migration-exporter-dsn"
        );
        let name = str_at(t, "name");
        let copy = dir.join(name);
        std::fs::write(
            &copy,
            format!("postgres://monitor:secret@db-{name}:5432/{name}"),
        )
        .unwrap();
        local = local.replace(file, copy.to_str().unwrap());
    }
    let path = dir.join("config.yml");
    std::fs::write(&path, local).unwrap();
    let out = Command::new(EXPORTER)
        .arg("--check-config")
        .env("PGMIG_CONFIG_FILE", &path)
        .env_remove("PGMIG_DATABASE_URL")
        .env_remove("PGMIG_DATABASE_URL_FILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "--check-config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgmig-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The groups of alerts/pgmig-*.yml, in file order.
fn alert_groups() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(root().join("alerts")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("pgmig-") && name.ends_with(".yml") {
            let v: Value =
                serde_yaml_ng::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
            out.insert(
                name.trim_end_matches(".yml").to_string(),
                v["groups"].clone(),
            );
        }
    }
    assert!(out.len() >= 3, "{:?}", out.keys());
    out
}

#[test]
fn prometheus_rules_pass_promtool_and_equal_alerts() {
    let want = alert_groups();
    for overlay in OVERLAYS {
        let docs = render(overlay);
        let dir = tempdir(&format!("k8s-rules-{overlay}"));
        let mut got = BTreeMap::new();
        for rule in of_kind(&docs, "PrometheusRule") {
            let name = str_at(rule, "metadata.name").to_string();
            let groups = s(rule, "spec.groups").clone();
            let mut file = serde_yaml_ng::Mapping::new();
            file.insert("groups".into(), groups.clone());
            let path = dir.join(format!("{name}.yml"));
            std::fs::write(&path, serde_yaml_ng::to_string(&file).unwrap()).unwrap();
            got.insert(name, groups);
        }
        assert_eq!(got, want, "{overlay}: PrometheusRules differ from alerts/");
        // One promtool run over all files: recording rules used by the alerts resolve.
        let files: Vec<PathBuf> = got.keys().map(|n| dir.join(format!("{n}.yml"))).collect();
        let out = Command::new("promtool")
            .arg("check")
            .arg("rules")
            .args(&files)
            .output()
            .expect("promtool (scripts/install-deps installs prometheus)");
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{overlay}: {report}");
        assert_eq!(
            report.matches("SUCCESS").count(),
            files.len(),
            "{overlay}: {report}"
        );
    }
}

/// grafana/dashboards/*.json by file name, parsed.
fn dashboards() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(root().join("grafana/dashboards"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            // JSON is YAML: one parser for both sides of the comparison.
            out.insert(name, serde_yaml_ng::from_str::<Value>(&text).unwrap());
        }
    }
    out
}

#[test]
fn dashboard_config_maps_equal_grafana_dashboards() {
    let want = dashboards();
    for overlay in OVERLAYS {
        let docs = render(overlay);
        let mut got = BTreeMap::new();
        for cm in of_kind(&docs, "ConfigMap") {
            if s(cm, "metadata.labels.grafana_dashboard").as_str() != Some("1") {
                continue;
            }
            for (k, v) in s(cm, "data").as_mapping().unwrap() {
                let board: Value = serde_yaml_ng::from_str(v.as_str().unwrap()).unwrap();
                assert!(
                    got.insert(k.as_str().unwrap().to_string(), board).is_none(),
                    "{overlay}: {k:?} twice"
                );
            }
        }
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        assert!(
            got == want,
            "{overlay}: dashboard ConfigMaps differ from grafana/dashboards/"
        );
    }
}

#[test]
fn generated_files_are_fresh() {
    let out = Command::new("python3")
        .arg(root().join("deploy/kubernetes/generate.py"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The probes' paths, on the port the manifest names, answer on the real
/// binary (no database needed: a target that refuses connections).
#[test]
fn probe_paths_answer_on_the_real_binary() {
    let docs = render("many-targets");
    let d = of_kind(&docs, "Deployment")[0];
    let c = container(d);
    let port = common::free_port();
    let exporter = common::Exporter::start(
        &[],
        &[(
            "PGMIG_DATABASE_URL",
            &format!("postgres://monitor@127.0.0.1:{port}/app?connect_timeout=1"),
        )],
    );
    let live = exporter.get(str_at(c, "livenessProbe.httpGet.path"));
    assert_eq!(live.status, 200, "{}", live.text());
    // Readiness: 200 once every target has been polled, even unsuccessfully.
    let path = str_at(c, "readinessProbe.httpGet.path").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = exporter.get(&path);
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(std::time::Instant::now() < deadline, "{path} never ready");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
