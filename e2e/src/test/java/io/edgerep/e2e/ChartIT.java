// SPDX-License-Identifier: Apache-2.0
package io.edgerep.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.testing.RepoPaths;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The Helm chart with a real helm and a real API server: lint and template over a matrix of values,
 * assertions on what is rendered, server-side dry-run of every object, install and uninstall, and
 * bad values refused by the values schema.
 */
class ChartIT {

    private static final String RELEASE = "edgerep";
    private static final String NAMESPACE = "edgerep-system";
    /** Kinds whose CRDs belong to other projects (cert-manager, prometheus-operator). */
    private static final Set<String> FOREIGN_KINDS = Set.of("Certificate", "ServiceMonitor", "PodMonitor");
    private static final Set<String> LOADER_ONLY_CAPABILITIES = Set.of("BPF", "NET_ADMIN", "PERFMON", "SYS_ADMIN",
            "SYS_RESOURCE");

    private static ApiServerSession session;
    private static KubernetesClient client;
    private static Path kubeconfig;
    private static Path chart;
    /** The version helm renders for: the API server under test. */
    private static String kubeVersion;

    @BeforeAll
    static void start() throws Exception {
        chart = RepoPaths.root().resolve("charts/edgerep");
        session = ApiServerSession.start(NAMESPACE);
        client = session.client;
        kubeconfig = session.kubeconfig;
        kubeVersion = client.getKubernetesVersion().getGitVersion();
    }

    @AfterAll
    static void stop() throws Exception {
        if (session != null) {
            session.close();
        }
    }

    static Stream<String> valueSets() {
        return Stream.of("defaults", "cert-manager", "xdp", "edge-nodes", "observability");
    }

    private static Path values(String set) {
        return RepoPaths.root().resolve("e2e/src/test/resources/chart-values").resolve(set + ".yaml");
    }

    private static List<HasMetadata> render(String set) throws Exception {
        var result = Cli.run(Cli.cmd(Cli.helm(), "template", RELEASE, chart.toString(), "--namespace", NAMESPACE,
                "--kube-version", kubeVersion, "-f", values(set).toString()));
        assertThat(result.exitCode()).as("helm template with %s: %s", set, result.stderr()).isZero();
        return client.load(new ByteArrayInputStream(result.stdout().getBytes(StandardCharsets.UTF_8))).items();
    }

    private static <T extends HasMetadata> List<T> ofType(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).collect(Collectors.toList());
    }

    private static Container container(DaemonSet ds, String name) {
        return ds.getSpec().getTemplate().getSpec().getContainers().stream().filter(c -> c.getName().equals(name))
                .findFirst().orElseThrow(() -> new AssertionError("no container " + name));
    }

    @ParameterizedTest
    @MethodSource("valueSets")
    void lintPasses(String set) throws Exception {
        var result = Cli
                .run(Cli.cmd(Cli.helm(), "lint", "--strict", "--kube-version", kubeVersion, chart.toString(), "-f",
                        values(set).toString()));
        assertThat(result.exitCode()).as("helm lint --strict with %s:%n%s", set, result.all()).isZero();
    }

    @ParameterizedTest
    @MethodSource("valueSets")
    void onlyTheLoaderIsPrivileged(String set) throws Exception {
        var objects = render(set);
        var ds = ofType(objects, DaemonSet.class);
        assertThat(ds).hasSize(1);
        var pod = ds.get(0).getSpec().getTemplate().getSpec();
        assertThat(pod.getContainers()).extracting(Container::getName).containsExactly("agent", "loader");
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getHostPID()).isTrue();

        var loader = container(ds.get(0), "loader").getSecurityContext();
        assertThat(loader.getPrivileged()).isTrue();
        assertThat(loader.getCapabilities().getAdd()).containsExactlyInAnyOrderElementsOf(LOADER_ONLY_CAPABILITIES);

        var agent = container(ds.get(0), "agent").getSecurityContext();
        assertThat(agent.getPrivileged()).isNotEqualTo(Boolean.TRUE);
        assertThat(agent.getAllowPrivilegeEscalation()).isFalse();
        assertThat(agent.getReadOnlyRootFilesystem()).isTrue();
        assertThat(agent.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(agent.getCapabilities().getAdd()).doesNotContainAnyElementsOf(LOADER_ONLY_CAPABILITIES);

        var operators = ofType(objects, Deployment.class);
        assertThat(operators).hasSize(1);
        var operatorPod = operators.get(0).getSpec().getTemplate().getSpec();
        for (Container c : operatorPod.getContainers()) {
            var sc = c.getSecurityContext();
            assertThat(sc.getPrivileged()).isNotEqualTo(Boolean.TRUE);
            assertThat(sc.getRunAsNonRoot()).isTrue();
            assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
            assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
            assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(sc.getCapabilities().getAdd()).isNullOrEmpty();
        }
    }

    @Test
    void loaderMountsWhatTheKernelSideNeedsAndNoMore() throws Exception {
        var ds = ofType(render("defaults"), DaemonSet.class).get(0);
        Map<String, String> mounts = container(ds, "loader").getVolumeMounts().stream()
                .collect(Collectors.toMap(m -> m.getMountPath(),
                        m -> (Boolean.TRUE.equals(m.getReadOnly()) ? "ro" : "rw")
                                + (m.getMountPropagation() == null ? "" : "," + m.getMountPropagation())));
        assertThat(mounts).containsEntry("/sys/fs/bpf", "rw,Bidirectional")
                .containsEntry("/sys/kernel/tracing", "rw")
                .containsEntry("/sys/kernel/debug", "rw")
                .containsEntry("/sys/fs/cgroup", "ro")
                .containsEntry("/lib/modules", "ro")
                .containsEntry("/usr/src", "ro")
                .containsEntry("/run/edgerep", "rw")
                .hasSize(7);
        var agentMounts = container(ds, "agent").getVolumeMounts().stream().map(m -> m.getMountPath()).toList();
        assertThat(agentMounts).contains("/run/edgerep", "/var/run/secrets/edgerep", "/etc/edgerep/ca")
                .doesNotContain("/sys/fs/bpf");
        var ca = ds.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals("operator-ca")).findFirst().orElseThrow();
        assertThat(ca.getSecret().getItems()).as("agents get the operator's CA certificate, never its key")
                .extracting(i -> i.getKey()).containsExactly("tls.crt");
        var token = ds.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals("agent-token")).findFirst().orElseThrow();
        assertThat(token.getProjected().getSources().get(0).getServiceAccountToken().getAudience())
                .isEqualTo("edgerep-agent");
        assertThat(ds.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken()).isFalse();
    }

    @ParameterizedTest
    @MethodSource("valueSets")
    void agentHasNoRbacAndOperatorRbacIsLeastPrivilege(String set) throws Exception {
        var objects = render(set);
        String agentSa = RELEASE + "-agent";
        for (var b : ofType(objects, ClusterRoleBinding.class)) {
            assertThat(b.getSubjects()).noneMatch(s -> s.getName().equals(agentSa));
        }
        for (var b : ofType(objects, RoleBinding.class)) {
            assertThat(b.getSubjects()).noneMatch(s -> s.getName().equals(agentSa));
        }

        var clusterRoles = ofType(objects, ClusterRole.class);
        assertThat(clusterRoles).hasSize(1);
        List<PolicyRule> rules = clusterRoles.get(0).getRules();
        for (PolicyRule r : rules) {
            assertThat(r.getVerbs()).doesNotContain("*", "delete", "deletecollection");
            assertThat(r.getResources()).doesNotContain("*", "secrets");
        }
        assertThat(rules)
                .anyMatch(r -> r.getResources().contains("tokenreviews") && r.getVerbs().equals(List.of("create")));
        assertThat(rules)
                .anyMatch(r -> r.getResources().contains("edgereplicas/status") && r.getVerbs().contains("patch"));
        assertThat(rules).anyMatch(r -> r.getResources().contains("edgereplicas/finalizers"));
        assertThat(rules).anyMatch(r -> r.getResources().contains("pods")
                && Set.copyOf(r.getVerbs()).equals(Set.of("get", "list", "watch")));

        var roles = ofType(objects, Role.class).stream()
                .filter(r -> !r.getMetadata().getName().endsWith("-status-viewer")).toList();
        assertThat(roles).hasSize(1);
        assertThat(roles.get(0).getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(roles.get(0).getRules()).flatExtracting(PolicyRule::getResources)
                .containsExactlyInAnyOrder("secrets", "configmaps", "leases", "deployments");
        // its own Deployment only, read only: the owner of what it creates, so helm uninstall removes that
        assertThat(roles.get(0).getRules()).filteredOn(r -> r.getResources().contains("deployments"))
                .singleElement().satisfies(r -> {
                    assertThat(r.getVerbs()).containsExactly("get");
                    assertThat(r.getResourceNames()).containsExactly(RELEASE + "-operator");
                });
        // kubectl edgerep's Role: reading the operator's per-node view through the service proxy, nothing else
        var viewer = ofType(objects, Role.class).stream()
                .filter(r -> r.getMetadata().getName().endsWith("-status-viewer")).toList();
        assertThat(viewer).singleElement().satisfies(r -> assertThat(r.getRules()).singleElement()
                .satisfies(rule -> {
                    assertThat(rule.getResources()).containsExactly("services/proxy");
                    assertThat(rule.getVerbs()).containsExactly("get");
                    assertThat(rule.getResourceNames()).contains(RELEASE + "-operator-metrics");
                }));
    }

    @Test
    void chartCrdsAreTheCommittedCrds() throws Exception {
        Path committed = RepoPaths.root().resolve("deploy/crds").resolve(RealApiServer.CRD_FILE);
        Path inChart = chart.resolve("crds").resolve(RealApiServer.CRD_FILE);
        assertThat(Files.readString(inChart))
                .as("charts/edgerep/crds must equal deploy/crds: run `make crds`")
                .isEqualTo(Files.readString(committed));
    }

    @ParameterizedTest
    @MethodSource("valueSets")
    void everyRenderedObjectPassesServerSideDryRun(String set) throws Exception {
        var objects = render(set);
        var ours = objects.stream().filter(o -> !FOREIGN_KINDS.contains(o.getKind())).toList();
        var foreign = objects.stream().filter(o -> FOREIGN_KINDS.contains(o.getKind())).map(HasMetadata::getKind)
                .collect(Collectors.toSet());
        if (set.equals("cert-manager")) {
            assertThat(foreign).as("cert-manager values render Certificates and a ServiceMonitor")
                    .containsExactlyInAnyOrder("Certificate", "ServiceMonitor");
        } else if (set.equals("observability")) {
            assertThat(foreign).as("observability values render a ServiceMonitor and a PodMonitor")
                    .containsExactlyInAnyOrder("ServiceMonitor", "PodMonitor");
        } else {
            assertThat(foreign).isEmpty();
        }
        Path manifest = Files.createTempFile("edgerep-render", ".yaml");
        try {
            Files.writeString(manifest, ours.stream().map(io.fabric8.kubernetes.client.utils.Serialization::asYaml)
                    .collect(Collectors.joining("\n")));
            var result = Cli.run(Cli.cmd(Cli.kubectl(), "--kubeconfig", kubeconfig.toString(), "apply",
                    "--server-side", "--dry-run=server", "-f", manifest.toString()));
            assertThat(result.exitCode()).as("server-side dry-run of %s:%n%s", set, result.all()).isZero();
            assertThat(result.stdout().lines().count()).isEqualTo(ours.size());
        } finally {
            Files.deleteIfExists(manifest);
        }
    }

    @Test
    void helmInstallCreatesEverythingAndUninstallRemovesIt() throws Exception {
        var install = Cli.run(Cli.cmd(Cli.helm(), "--kubeconfig", kubeconfig.toString(), "install", RELEASE,
                chart.toString(), "--namespace", NAMESPACE, "--create-namespace"));
        assertThat(install.exitCode()).as("helm install:%n%s", install.all()).isZero();
        assertThat(install.stdout()).contains("kubectl wait --for=condition=Ready");

        assertThat(client.apiextensions().v1().customResourceDefinitions().withName("edgereplicas.edgerep.io").get())
                .isNotNull();
        assertThat(client.apps().deployments().inNamespace(NAMESPACE).withName(RELEASE + "-operator").get())
                .isNotNull();
        assertThat(client.apps().daemonSets().inNamespace(NAMESPACE).withName(RELEASE + "-agent").get()).isNotNull();
        assertThat(client.services().inNamespace(NAMESPACE).withName(RELEASE + "-operator").get()).isNotNull();
        assertThat(client.services().inNamespace(NAMESPACE).withName(RELEASE + "-operator-metrics").get())
                .isNotNull();
        assertThat(client.serviceAccounts().inNamespace(NAMESPACE).withName(RELEASE + "-agent").get()).isNotNull();
        assertThat(client.rbac().clusterRoles().withName(RELEASE + "-operator").get()).isNotNull();

        assertThat(client.serviceAccounts().inNamespace(NAMESPACE).withName(RELEASE + "-uninstall").get())
                .isNotNull();
        // the release's one hook: the teardown Job, before helm deletes anything
        var hooks = Cli.run(Cli.cmd(Cli.helm(), "--kubeconfig", kubeconfig.toString(), "get", "hooks", RELEASE,
                "--namespace", NAMESPACE));
        assertThat(hooks.exitCode()).as("helm get hooks:%n%s", hooks.all()).isZero();
        assertThat(hooks.stdout()).contains("kind: Job", "helm.sh/hook: pre-delete", "edgerep_loader.uninstall",
                "serviceAccountName: " + RELEASE + "-uninstall");

        // this API server has no controllers and no kubelet, so no Job can run here: the hook's run is
        // make e2e-cluster's test_helm_uninstall_leaves_nothing; here helm deletes the release without it
        var uninstall = Cli.run(Cli.cmd(Cli.helm(), "--kubeconfig", kubeconfig.toString(), "uninstall", RELEASE,
                "--namespace", NAMESPACE, "--wait", "--no-hooks"));
        assertThat(uninstall.exitCode()).as("helm uninstall:%n%s", uninstall.all()).isZero();
        assertThat(client.apps().daemonSets().inNamespace(NAMESPACE).withName(RELEASE + "-agent").get()).isNull();
        assertThat(client.rbac().clusterRoles().withName(RELEASE + "-operator").get()).isNull();
        assertThat(client.serviceAccounts().inNamespace(NAMESPACE).withName(RELEASE + "-agent").get()).isNull();
        assertThat(client.serviceAccounts().inNamespace(NAMESPACE).withName(RELEASE + "-uninstall").get()).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "operator.replicas=-1           | /operator/replicas",
            "dataplane.defaultDatapath=EBPF | /dataplane/defaultDatapath",
            "imageRegistry=Not A Registry   | /imageRegistry",
            "agent.replicationPort=70000    | /agent/replicationPort",
            "certificates.mode=vault        | /certificates/mode",
    })
    void badValuesFailAtInstallWithTheSchemaMessage(String value, String field) throws Exception {
        var result = Cli.run(Cli.cmd(Cli.helm(), "--kubeconfig", kubeconfig.toString(), "install", "bad-values",
                chart.toString(), "--namespace", NAMESPACE, "--set", value.trim(), "--dry-run=server"));
        assertThat(result.exitCode()).as("helm install --set %s must fail", value).isNotZero();
        assertThat(result.stderr()).contains("values don't meet the specifications of the schema")
                .contains(field.trim());
    }

    @Test
    void theDashboardShipsOnlyWhenAskedLabelledForTheGrafanaSidecar() throws Exception {
        assertThat(ofType(render("defaults"), ConfigMap.class)).as("no dashboard by default")
                .noneMatch(c -> c.getMetadata().getName().endsWith("-dashboard"));
        var objects = render("observability");
        var dashboards = ofType(objects, ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().endsWith("-dashboard")).toList();
        assertThat(dashboards).hasSize(1);
        var cm = dashboards.get(0);
        assertThat(cm.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        assertThat(cm.getMetadata().getAnnotations()).containsEntry("grafana_folder", "edge");
        assertThat(cm.getData().get("edgerep.json")).isEqualTo(
                Files.readString(RepoPaths.root().resolve("charts/edgerep/dashboards/edgerep.json")).stripTrailing());
        var podMonitor = objects.stream().filter(o -> o.getKind().equals("PodMonitor")).findFirst().orElseThrow();
        String yaml = io.fabric8.kubernetes.client.utils.Serialization.asYaml(podMonitor);
        assertThat(yaml).contains("/q/metrics").contains("loader-metrics")
                .contains("__meta_kubernetes_pod_node_name");
        var loader = container(ofType(objects, DaemonSet.class).get(0), "loader");
        assertThat(loader.getArgs()).contains("--metrics-addr=:9465");
        assertThat(loader.getPorts())
                .anyMatch(p -> p.getName().equals("loader-metrics") && p.getContainerPort() == 9465);
        // logging.format=json: JSON lines from all three
        assertThat(loader.getArgs()).contains("--log-format=json");
        var agent = container(ofType(objects, DaemonSet.class).get(0), "agent");
        assertThat(agent.getEnv()).anyMatch(
                e -> e.getName().equals("QUARKUS_LOG_CONSOLE_JSON_ENABLED") && e.getValue().equals("true"));
        var operator = ofType(objects, Deployment.class).get(0).getSpec().getTemplate().getSpec().getContainers()
                .get(0);
        assertThat(operator.getEnv()).anyMatch(
                e -> e.getName().equals("QUARKUS_LOG_CONSOLE_JSON_ENABLED") && e.getValue().equals("true"));
    }

    @Test
    void certManagerModeNeedsAnIssuer() throws Exception {
        var result = Cli.run(Cli.cmd(Cli.helm(), "template", RELEASE, chart.toString(), "--kube-version",
                kubeVersion, "--set", "certificates.mode=cert-manager"));
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stderr()).contains("/certificates/certManager/issuerRef/name");
    }
}
