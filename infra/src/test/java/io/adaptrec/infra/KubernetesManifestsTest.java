package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.adaptrec.flink.PoolsConfig;
import io.adaptrec.flink.SimilarUserPoolsJob;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.QueryServer;
import io.adaptrec.streams.UserStateConfig;
import io.adaptrec.worker.WorkerApp;
import io.adaptrec.worker.serving.HealthServer;
import io.adaptrec.worker.serving.ServingConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * The Kubernetes manifests in {@code deploy/k8s} (kustomize base + gpu overlay), loaded into the
 * fabric8 model classes and checked against the roles they run: each ConfigMap parses with its
 * role's own validating loader, ports and probe paths agree with that config and with the HTTP
 * servers the roles really start, images are the build's, and the gpu overlay's patch lands on
 * the worker container. No cluster is involved; kustomize is imitated for exactly what these
 * kustomizations use (resources, namespace, JSON 6902 patches with a target).
 */
class KubernetesManifestsTest {
  static final Path K8S = Path.of("deploy/k8s");
  static final String NAMESPACE = "adaptrec";
  static final String VERSION = "0.1.0-SNAPSHOT";
  /** What the Maven Jib build produces. */
  static final Set<String> BUILD_IMAGES = Stream.of("streams", "worker", "infra", "kafka-broker", "flink-cluster")
      .map(n -> "adaptrec/" + n + ":" + VERSION).collect(Collectors.toSet());
  /** Built from flink-job-image/Dockerfile: the official Flink image plus the shaded job jar. */
  static final String JOB_IMAGE = "adaptrec/flink-pools-job:" + VERSION;
  static final String FLINK_IMAGE = "flink:2.2.1-java17";
  static final String JOB_JAR = "flink-jobs-job.jar";
  /** A pod name as a Deployment's ReplicaSet makes one. */
  static final String SAMPLE_POD = "adaptrec-worker-6d9f7c8b5-x2x9z";

  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  static final ObjectMapper JSON = new ObjectMapper();

  static final List<HasMetadata> BASE = Kustomize.build(K8S.resolve("base"));
  static final List<HasMetadata> GPU = Kustomize.build(K8S.resolve("overlays/gpu"));

  @TempDir
  Path tmp;

  // ---------------------------------------------------------------- loading, typing

  @Test
  void everyManifestLoadsIntoItsTypedModelWithoutUnknownFields() {
    Map<String, Class<?>> expected = Map.of(
        "Namespace", Namespace.class, "PersistentVolumeClaim", PersistentVolumeClaim.class,
        "ConfigMap", ConfigMap.class, "Job", Job.class, "Service", Service.class,
        "StatefulSet", StatefulSet.class, "Deployment", Deployment.class,
        "ServiceAccount", ServiceAccount.class, "Role", Role.class, "RoleBinding", RoleBinding.class);
    for (List<HasMetadata> build : List.of(BASE, GPU)) {
      for (HasMetadata r : build) {
        if (r.getKind().equals("FlinkDeployment")) {
          // no typed model on Central for Flink 2.x (flink-kubernetes-operator-api stops at 1.10.0)
          assertThat(r).isInstanceOf(GenericKubernetesResource.class);
          assertThat(r.getApiVersion()).isEqualTo("flink.apache.org/v1beta1");
          continue;
        }
        // a wrong apiVersion or kind would come back as a GenericKubernetesResource
        assertThat(expected).as("kind of %s", id(r)).containsKey(r.getKind());
        assertThat(r).as(id(r)).isInstanceOf(expected.get(r.getKind()));
        assertThat(unknownFields(r)).as("fields the model does not know in %s (typos?)", id(r)).isEmpty();
      }
      assertThat(build.stream().map(KubernetesManifestsTest::id)).doesNotHaveDuplicates();
    }
    assertThat(BASE.stream().map(HasMetadata::getKind).collect(Collectors.toSet()))
        .containsExactlyInAnyOrderElementsOf(Stream.concat(expected.keySet().stream(), Stream.of("FlinkDeployment")).toList());
  }

  @Test
  void everythingIsInTheAdaptrecNamespaceAndEveryFileIsListed() throws IOException {
    for (HasMetadata r : BASE) {
      if (r instanceof Namespace ns) {
        assertThat(ns.getMetadata().getName()).isEqualTo(NAMESPACE);
      } else {
        assertThat(r.getMetadata().getNamespace()).as(id(r)).isEqualTo(NAMESPACE);
      }
    }
    for (RoleBinding b : all(BASE, RoleBinding.class)) {
      b.getSubjects().forEach(s -> assertThat(s.getNamespace()).isEqualTo(NAMESPACE));
    }
    JsonNode k = Kustomize.kustomization(K8S.resolve("base"));
    assertThat(k.path("namespace").asText()).isEqualTo(NAMESPACE);
    Set<String> listed = new LinkedHashSet<>();
    k.path("resources").forEach(n -> listed.add(n.asText()));
    try (Stream<Path> files = Files.list(K8S.resolve("base"))) {
      assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
          .filter(n -> !n.equals("kustomization.yaml"))).as("manifests not in base/kustomization.yaml")
          .containsExactlyInAnyOrderElementsOf(listed);
    }
  }

  // ---------------------------------------------------------------- images

  @Test
  void everyImageIsOneTheBuildMakesOrTheJobImageOnTheOfficialFlinkImage() throws IOException {
    Set<String> images = new LinkedHashSet<>();
    for (HasMetadata r : BASE) {
      podSpec(r).ifPresent(s -> Stream.concat(s.getContainers().stream(), s.getInitContainers().stream())
          .forEach(c -> images.add(c.getImage())));
    }
    JsonNode flink = flinkSpec();
    images.add(flink.path("image").asText());
    flinkPod().getSpec().getContainers().stream().map(Container::getImage).filter(Objects::nonNull).forEach(images::add);
    assertThat(images).isNotEmpty().allSatisfy(i -> assertThat(i).isIn(union(BUILD_IMAGES, Set.of(JOB_IMAGE))));
    assertThat(images).contains(JOB_IMAGE, "adaptrec/streams:" + VERSION, "adaptrec/worker:" + VERSION, "adaptrec/infra:" + VERSION);

    // the job image: FROM the official image, the shaded jar where jarURI points
    List<String> dockerfile = Files.readAllLines(K8S.resolve("flink-job-image/Dockerfile")).stream()
        .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    assertThat(dockerfile).hasSize(2);
    assertThat(dockerfile.get(0)).isEqualTo("FROM " + FLINK_IMAGE);
    Matcher copy = Pattern.compile("COPY (--chown=\\S+ )?(\\S+) (\\S+)").matcher(dockerfile.get(1));
    assertThat(copy.matches()).as(dockerfile.get(1)).isTrue();
    assertThat(copy.group(2)).isEqualTo(JOB_JAR);
    String target = copy.group(3).endsWith("/") ? copy.group(3) + JOB_JAR : copy.group(3);
    assertThat(flinkSpec().path("job").path("jarURI").asText()).isEqualTo("local://" + target);
    // the tag agrees with flinkVersion (v2_2 <-> 2.2.x)
    Matcher v = Pattern.compile("flink:(\\d+)\\.(\\d+)\\.\\d+-java17").matcher(FLINK_IMAGE);
    assertThat(v.matches()).isTrue();
    assertThat(flink.path("flinkVersion").asText()).isEqualTo("v" + v.group(1) + "_" + v.group(2));
    for (HasMetadata r : BASE) {
      podSpec(r).ifPresent(s -> s.getContainers().forEach(c ->
          assertThat(c.getImagePullPolicy()).as("%s/%s: a SNAPSHOT tag is pushed again and again", id(r), c.getName())
              .isIn("IfNotPresent", "Always")));
    }
  }

  // ---------------------------------------------------------------- configs

  @Test
  void streamsConfigMapParsesWithUserStateConfig() throws IOException {
    StatefulSet sts = one(BASE, StatefulSet.class, "adaptrec-streams");
    Container c = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
    UserStateConfig cfg = UserStateConfig.load(configFile(sts.getSpec().getTemplate().getSpec(), c, c.getArgs().get(0)));
    assertThat(cfg.httpHost()).isEqualTo("0.0.0.0");
    assertThat(cfg.httpEnabled()).isTrue();
    assertThat(cfg.topicPrefix()).isEqualTo(Topics.DEFAULT_PREFIX).isEqualTo(UserStateConfig.defaults().topicPrefix());
    assertThat(cfg.bootstrapServers()).isEqualTo(bootstrapOfTopicsJob());
    assertThat(cfg.topicReplicationFactor()).isEqualTo(replicationFactorOfTopicsJob());
    assertThat(cfg.kafkaOverrides()).isEmpty();
    // state.dir is the volumeClaimTemplate's mount
    String claim = sts.getSpec().getVolumeClaimTemplates().get(0).getMetadata().getName();
    assertThat(mountPath(c, claim)).isEqualTo(cfg.stateDir().toString());
    assertThat(sts.getSpec().getReplicas()).isEqualTo(2);
  }

  @Test
  void poolsConfigMapParsesWithPoolsConfigAndAgreesWithTheFlinkDeployment() throws IOException {
    JsonNode job = flinkSpec().path("job");
    assertThat(job.path("entryClass").asText()).isEqualTo(SimilarUserPoolsJob.class.getName());
    assertThat(job.path("args")).hasSize(1);
    Pod pod = flinkPod();
    Container main = pod.getSpec().getContainers().stream().filter(c -> c.getName().equals("flink-main-container"))
        .findFirst().orElseThrow(() -> new AssertionError("podTemplate has no flink-main-container"));
    PoolsConfig cfg = PoolsConfig.load(configFile(pod.getSpec(), main, job.path("args").get(0).asText()));
    assertThat(job.path("parallelism").asInt()).isEqualTo(cfg.parallelism());
    assertThat(job.path("upgradeMode").asText()).isIn("savepoint", "last-state");
    assertThat(job.path("state").asText()).isEqualTo("running");
    JsonNode conf = flinkSpec().path("flinkConfiguration");
    // the job sets its checkpoint storage from checkpoint.dir; the operator reads these keys
    assertThat(conf.path("execution.checkpointing.dir").asText()).isEqualTo(cfg.checkpointDir());
    assertThat(conf.path("state.backend.type").asText()).isEqualTo(cfg.stateBackend());
    for (String key : List.of("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir", "high-availability.storageDir")) {
      String uri = conf.path(key).asText();
      assertThat(uri).as(key).matches("(file|s3)://.+");
      if (uri.startsWith("file://")) {
        String dir = uri.substring("file://".length());
        assertThat(main.getVolumeMounts()).as("%s=%s is on a persistent volume", key, uri).anySatisfy(m -> {
          assertThat(dir).startsWith(m.getMountPath() + "/");
          assertThat(volume(pod.getSpec(), m.getName()).getPersistentVolumeClaim()).isNotNull();
        });
      }
    }
    assertThat(conf.path("taskmanager.numberOfTaskSlots").asInt()).isPositive();
    assertThat(cfg.topicPrefix()).isEqualTo(Topics.DEFAULT_PREFIX).isEqualTo(PoolsConfig.defaults().topicPrefix());
    assertThat(cfg.bootstrapServers()).isEqualTo(bootstrapOfTopicsJob());
  }

  @Test
  void workerTrainerAndControllerConfigMapsParseWithServingConfigWithTheirArguments() throws IOException {
    Map<String, ServingConfig> byRole = new LinkedHashMap<>();
    Map<String, String> subcommand = Map.of("adaptrec-worker", "serve", "adaptrec-trainer", "refresh", "adaptrec-controller", "control");
    for (var e : subcommand.entrySet()) {
      Deployment d = one(BASE, Deployment.class, e.getKey());
      PodSpec spec = d.getSpec().getTemplate().getSpec();
      Container c = spec.getContainers().get(0);
      assertThat(c.getImage()).isEqualTo("adaptrec/worker:" + VERSION);
      // the arguments as WorkerApp's picocli parses them, $(VAR) expanded as the kubelet does
      ParseResult sub = new CommandLine(new WorkerApp()).parseArgs(expand(c, c.getArgs()).toArray(String[]::new)).subcommand();
      assertThat(sub.commandSpec().name()).isEqualTo(e.getValue());
      Path file = sub.matchedPositionalValue(0, null);
      Map<String, String> set = sub.matchedOptionValue("--set", Map.of());
      byRole.put(e.getKey(), ServingConfig.load(configFile(spec, c, file.toString()), set));
    }
    ServingConfig worker = byRole.get("adaptrec-worker");
    assertThat(worker.httpHost()).isEqualTo("0.0.0.0");
    assertThat(worker.instanceId()).isEqualTo(SAMPLE_POD);
    for (ServingConfig c : byRole.values()) {
      assertThat(c.topicPrefix()).isEqualTo(Topics.DEFAULT_PREFIX).isEqualTo(ServingConfig.fromProperties(props("model.dir", "/m")).topicPrefix());
      assertThat(c.bootstrapServers()).isEqualTo(bootstrapOfTopicsJob());
      assertThat(c.schemaRegistryUrl()).isEqualTo(worker.schemaRegistryUrl());
      assertThat(c.modelDir()).isEqualTo(worker.modelDir());
      assertThat(c.rollout().adaptersDir()).isEqualTo(worker.rollout().adaptersDir());
    }
    assertThat(worker.schemaRegistryUrl()).isEqualTo(UserStateConfig.load(streamsConfigFile()).schemaRegistryUrl());
  }

  @Test
  void theValidatingLoadersRejectAnUnknownKeyInTheseConfigMaps() throws IOException {
    Path streams = append(streamsConfigFile(), "query.http.prot=7071");
    assertThatThrownBy(() -> UserStateConfig.load(streams)).hasMessageContaining("query.http.prot");
    Path worker = append(dataFile(one(BASE, ConfigMap.class, "adaptrec-worker-config")), "serving.instanceid=x");
    assertThatThrownBy(() -> ServingConfig.load(worker, Map.of())).hasMessageContaining("serving.instanceid");
    Path pools = append(dataFile(one(BASE, ConfigMap.class, "adaptrec-pools-config")), "checkpoint.directory=file:///x");
    assertThatThrownBy(() -> PoolsConfig.load(pools)).hasMessageContaining("checkpoint.directory");
  }

  @Test
  void everyConfigMapIsMountedByOneRoleAndHoldsOneFile() {
    Set<String> mounted = new LinkedHashSet<>();
    for (HasMetadata r : BASE) {
      podSpec(r).ifPresent(s -> s.getVolumes().stream().filter(v -> v.getConfigMap() != null)
          .forEach(v -> mounted.add(v.getConfigMap().getName())));
    }
    flinkPod().getSpec().getVolumes().stream().filter(v -> v.getConfigMap() != null).forEach(v -> mounted.add(v.getConfigMap().getName()));
    List<ConfigMap> maps = all(BASE, ConfigMap.class);
    assertThat(maps).hasSize(5);
    assertThat(maps.stream().map(m -> m.getMetadata().getName())).containsExactlyInAnyOrderElementsOf(mounted);
    maps.forEach(m -> assertThat(m.getData()).as(m.getMetadata().getName()).hasSize(1));
  }

  // ---------------------------------------------------------------- ports, services, probes

  @Test
  void containerPortsProbePortsAndServicesAgreeWithTheConfiguredPorts() throws IOException {
    StatefulSet sts = one(BASE, StatefulSet.class, "adaptrec-streams");
    assertThat(port(sts.getSpec().getTemplate().getSpec().getContainers().get(0), "http"))
        .isEqualTo(UserStateConfig.load(streamsConfigFile()).httpPort());
    for (String role : List.of("worker", "trainer", "controller")) {
      Deployment d = one(BASE, Deployment.class, "adaptrec-" + role);
      assertThat(port(d.getSpec().getTemplate().getSpec().getContainers().get(0), "http")).as(role)
          .isEqualTo(servingConfig(role).httpPort());
    }

    for (HasMetadata r : BASE) {
      podSpec(r).ifPresent(s -> s.getContainers().forEach(c -> {
        for (Probe p : probes(c)) {
          assertThat(p.getHttpGet()).as("%s/%s probes over HTTP", id(r), c.getName()).isNotNull();
          assertThat(resolve(c, p.getHttpGet().getPort())).as("probe port of %s", id(r)).isPositive();
        }
      }));
    }
    assertThat(sts.getSpec().getServiceName()).isEqualTo("adaptrec-streams");
    assertThat(one(BASE, Service.class, "adaptrec-streams").getSpec().getClusterIP()).isEqualTo("None");

    List<Service> services = all(BASE, Service.class);
    assertThat(services).hasSize(4);
    for (Service svc : services) {
      List<PodTemplateSpec> selected = BASE.stream().map(KubernetesManifestsTest::template).flatMap(Optional::stream)
          .filter(t -> t.getMetadata().getLabels().entrySet().containsAll(svc.getSpec().getSelector().entrySet())).toList();
      assertThat(selected).as("pods selected by service %s", svc.getMetadata().getName()).hasSize(1);
      Container c = selected.get(0).getSpec().getContainers().get(0);
      for (ServicePort sp : svc.getSpec().getPorts()) {
        int target = resolve(c, sp.getTargetPort());
        assertThat(c.getPorts().stream().map(ContainerPort::getContainerPort)).contains(target);
        assertThat(sp.getPort()).isEqualTo(target);
      }
    }
    // every HTTP port has a Service
    for (HasMetadata r : BASE) {
      template(r).ifPresent(t -> t.getSpec().getContainers().stream().filter(c -> !c.getPorts().isEmpty()).forEach(c ->
          assertThat(services).as("a Service for %s", id(r)).anySatisfy(svc ->
              assertThat(t.getMetadata().getLabels().entrySet()).containsAll(svc.getSpec().getSelector().entrySet()))));
    }
  }

  @Test
  void streamsProbesHitItsQueryServersHealthRoutesAndNotReadyMeansNotReady() throws Exception {
    Container c = one(BASE, StatefulSet.class, "adaptrec-streams").getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
    assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/live");
    assertThat(c.getStartupProbe()).isNull();
    int configured = UserStateConfig.load(streamsConfigFile()).httpPort();
    probes(c).forEach(p -> assertThat(resolve(c, p.getHttpGet().getPort())).isEqualTo(configured));
    // the JDK server routes by prefix, so a wrong path under a route would answer too: the paths are exact above
    try (QueryServer running = queryServer(() -> null);
         QueryServer rebalancing = queryServer(() -> "user-state REBALANCING")) {
      for (Probe p : probes(c)) {
        assertThat(get(running.port(), p.getHttpGet().getPath())).as(p.getHttpGet().getPath()).isEqualTo(200);
      }
      assertThat(get(rebalancing.port(), c.getReadinessProbe().getHttpGet().getPath())).isEqualTo(503);
      assertThat(get(rebalancing.port(), c.getLivenessProbe().getHttpGet().getPath())).isEqualTo(200);
    }
  }

  /** A QueryServer on a free port, answering "not found", empty metrics, live, and ready unless {@code notReady} gives a reason. */
  static QueryServer queryServer(Supplier<String> notReady) throws IOException {
    return new QueryServer("127.0.0.1", 0, id -> QueryServer.Lookup.notFound(), Map::of, () -> null, notReady);
  }

  @Test
  void workerProbesHitItsHealthServerAndNotReadyMeansNotReady() throws Exception {
    Container c = one(BASE, Deployment.class, "adaptrec-worker").getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
    assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/live");
    assertThat(c.getStartupProbe().getHttpGet().getPath()).isEqualTo("/health/live");
    try (HealthServer up = new HealthServer("127.0.0.1", 0, () -> true, () -> null, () -> "");
         HealthServer catchingUp = new HealthServer("127.0.0.1", 0, () -> true, () -> "catching up", () -> "")) {
      for (Probe p : probes(c)) {
        assertThat(get(up.port(), p.getHttpGet().getPath())).as(p.getHttpGet().getPath()).isEqualTo(200);
      }
      assertThat(get(catchingUp.port(), c.getReadinessProbe().getHttpGet().getPath())).isEqualTo(503);
      assertThat(get(catchingUp.port(), c.getLivenessProbe().getHttpGet().getPath())).isEqualTo(200);
    }
  }

  @Test
  void trainerAndControllerProbesHitTheHealthServerTheirCommandStartsAndAFailureFailsBoth() throws Exception {
    for (String role : List.of("trainer", "controller")) {
      Deployment d = one(BASE, Deployment.class, "adaptrec-" + role);
      assertThat(d.getSpec().getReplicas()).isEqualTo(1);
      assertThat(d.getSpec().getStrategy().getType()).isEqualTo("Recreate");
      Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
      assertThat(c.getReadinessProbe().getHttpGet().getPath()).as(role).isEqualTo("/health/ready");
      assertThat(c.getLivenessProbe().getHttpGet().getPath()).as(role).isEqualTo("/health/live");
      assertThat(c.getStartupProbe().getHttpGet().getPath()).as(role).isEqualTo("/health/live");
      ServingConfig cfg = servingConfig(role);
      assertThat(cfg.httpHost()).as(role).isEqualTo("0.0.0.0");
      probes(c).forEach(p -> assertThat(resolve(c, p.getHttpGet().getPort())).as(role).isEqualTo(cfg.httpPort()));
      one(BASE, Service.class, "adaptrec-" + role);
    }
    // as RoleCommand.healthServer builds it: live while failure() is null, not ready "failed: ..." otherwise
    Container c = one(BASE, Deployment.class, "adaptrec-trainer").getSpec().getTemplate().getSpec().getContainers().get(0);
    try (HealthServer running = roleHealthServer(() -> null);
         HealthServer failed = roleHealthServer(() -> new IllegalStateException("round aborted"))) {
      for (Probe p : probes(c)) {
        assertThat(get(running.port(), p.getHttpGet().getPath())).as(p.getHttpGet().getPath()).isEqualTo(200);
        assertThat(get(failed.port(), p.getHttpGet().getPath())).as(p.getHttpGet().getPath()).isEqualTo(503);
      }
    }
  }

  /** A HealthServer on a free port with the arguments RoleCommand gives it for a role whose failure is {@code failure}. */
  static HealthServer roleHealthServer(Supplier<Throwable> failure) throws IOException {
    Supplier<String> problem = () -> {
      Throwable t = failure.get();
      return t == null ? null : "failed: " + t;
    };
    return new HealthServer("127.0.0.1", 0, () -> problem.get() == null, problem, () -> "");
  }

  // ---------------------------------------------------------------- topics, identity, volumes

  @Test
  void topicsJobParsesWithTheAdaptrecCliAndUsesTheRolesPrefix() {
    Job job = one(BASE, Job.class, "adaptrec-topics");
    Container c = job.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(c.getImage()).isEqualTo("adaptrec/infra:" + VERSION);
    ParseResult sub = topicsArgs();
    assertThat(sub.commandSpec().name()).isEqualTo("topics");
    assertThat(sub.matchedOptionValue("--topic-prefix", Topics.DEFAULT_PREFIX)).isEqualTo(Topics.DEFAULT_PREFIX);
    assertThat(replicationFactorOfTopicsJob()).isEqualTo(3);
    assertThat(job.getSpec().getTemplate().getSpec().getRestartPolicy()).isIn("OnFailure", "Never");
  }

  @Test
  void eachWorkerPodGetsItsOwnInstanceIdFromItsName() throws IOException {
    Deployment d = one(BASE, Deployment.class, "adaptrec-worker");
    assertThat(d.getSpec().getReplicas()).isEqualTo(2);
    Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
    EnvVar pod = c.getEnv().stream().filter(e -> e.getName().equals("POD_NAME")).findFirst().orElseThrow();
    assertThat(pod.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
    assertThat(c.getArgs()).containsSubsequence("--set", "serving.instance.id=$(POD_NAME)");
    Path file = dataFile(one(BASE, ConfigMap.class, "adaptrec-worker-config"));
    String a = ServingConfig.load(file, Map.of("serving.instance.id", SAMPLE_POD)).transactionalId();
    String b = ServingConfig.load(file, Map.of("serving.instance.id", "adaptrec-worker-6d9f7c8b5-q8r4t")).transactionalId();
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void modelAndAdapterDirectoriesAreMountedFromSharedClaims() throws IOException {
    Set<String> claims = all(BASE, PersistentVolumeClaim.class).stream().map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
    for (HasMetadata r : BASE) {
      podSpec(r).ifPresent(s -> s.getVolumes().stream().filter(v -> v.getPersistentVolumeClaim() != null)
          .forEach(v -> assertThat(claims).as("claim of %s", id(r)).contains(v.getPersistentVolumeClaim().getClaimName())));
    }
    flinkPod().getSpec().getVolumes().stream().filter(v -> v.getPersistentVolumeClaim() != null)
        .forEach(v -> assertThat(claims).contains(v.getPersistentVolumeClaim().getClaimName()));
    for (String name : List.of("adaptrec-model", "adaptrec-adapters", "adaptrec-flink-state")) {
      assertThat(one(BASE, PersistentVolumeClaim.class, name).getSpec().getAccessModes()).containsExactly("ReadWriteMany");
    }
    for (String role : List.of("worker", "trainer", "controller")) {
      Deployment d = one(BASE, Deployment.class, "adaptrec-" + role);
      PodSpec spec = d.getSpec().getTemplate().getSpec();
      Container c = spec.getContainers().get(0);
      ServingConfig cfg = ServingConfig.load(dataFile(one(BASE, ConfigMap.class, "adaptrec-" + role + "-config")), Map.of());
      VolumeMount model = mountAt(c, cfg.modelDir().toString());
      assertThat(volume(spec, model.getName()).getPersistentVolumeClaim().getClaimName()).isEqualTo("adaptrec-model");
      assertThat(model.getReadOnly()).isTrue();
      VolumeMount adapters = mountAt(c, cfg.rollout().adaptersDir().toString());
      assertThat(volume(spec, adapters.getName()).getPersistentVolumeClaim().getClaimName()).isEqualTo("adaptrec-adapters");
      // only the trainer writes adapters
      assertThat(Boolean.TRUE.equals(adapters.getReadOnly())).as(role).isEqualTo(!role.equals("trainer"));
    }
  }

  @Test
  void flinkDeploymentUsesOnlyOperatorFieldsAndAServiceAccountWithARole() {
    JsonNode spec = flinkSpec();
    Set<String> specFields = Set.of("image", "imagePullPolicy", "flinkVersion", "flinkConfiguration", "serviceAccount",
        "jobManager", "taskManager", "podTemplate", "job", "logConfiguration", "mode", "ingress", "restartNonce");
    Set<String> jobFields = Set.of("jarURI", "entryClass", "args", "parallelism", "upgradeMode", "state",
        "allowNonRestoredState", "initialSavepointPath", "savepointTriggerNonce", "checkpointTriggerNonce");
    assertThat(fieldNames(spec)).isSubsetOf(specFields);
    assertThat(fieldNames(spec.path("job"))).isSubsetOf(jobFields);
    for (String m : List.of("jobManager", "taskManager")) {
      assertThat(fieldNames(spec.path(m))).isSubsetOf("resource", "replicas", "podTemplate");
      assertThat(fieldNames(spec.path(m).path("resource"))).isSubsetOf("cpu", "memory", "ephemeralStorage");
    }
    assertThat(unknownFields(flinkPod())).as("podTemplate fields the Pod model does not know").isEmpty();
    String sa = spec.path("serviceAccount").asText();
    one(BASE, ServiceAccount.class, sa);
    RoleBinding b = all(BASE, RoleBinding.class).stream()
        .filter(x -> x.getSubjects().stream().anyMatch(s -> s.getKind().equals("ServiceAccount") && s.getName().equals(sa)))
        .findFirst().orElseThrow();
    Role role = one(BASE, Role.class, b.getRoleRef().getName());
    assertThat(role.getRules()).anySatisfy(rule -> assertThat(rule.getResources()).contains("pods", "configmaps"));
  }

  // ---------------------------------------------------------------- the gpu overlay

  @Test
  void gpuOverlayPutsOneGpuOnTheWorkerContainerAndChangesNothingElse() {
    Deployment base = one(BASE, Deployment.class, "adaptrec-worker");
    Deployment gpu = one(GPU, Deployment.class, "adaptrec-worker");
    Container c = gpu.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(c.getName()).isEqualTo("worker");
    assertThat(c.getResources().getRequests()).containsEntry("nvidia.com/gpu", new Quantity("1"));
    assertThat(c.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
    // the base resources stay
    assertThat(c.getResources().getRequests()).containsAllEntriesOf(base.getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getRequests());
    assertThat(base.getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
    assertThat(gpu.getSpec().getTemplate().getSpec().getNodeSelector()).isNotEmpty();
    assertThat(gpu.getSpec().getTemplate().getSpec().getTolerations()).extracting(Toleration::getKey).contains("nvidia.com/gpu");
    // the container is otherwise the base one, serving with the TensorRT engine on the GPU
    Container expected = SERIALIZATION.clone(base.getSpec().getTemplate().getSpec().getContainers().get(0));
    expected.getResources().getRequests().put("nvidia.com/gpu", new Quantity("1"));
    expected.getResources().getLimits().put("nvidia.com/gpu", new Quantity("1"));
    expected.getArgs().addAll(List.of("--set", "serving.engine=tensorrt", "--set", "serving.device=gpu"));
    assertThat(c).isEqualTo(expected);
    assertThat(ServingConfig.KEYS.stream().map(k -> k.name())).contains("serving.engine", "serving.device");
    // every other resource is the base one
    Map<String, JsonNode> b = BASE.stream().filter(r -> !id(r).equals(id(base))).collect(Collectors.toMap(KubernetesManifestsTest::id, KubernetesManifestsTest::tree));
    Map<String, JsonNode> g = GPU.stream().filter(r -> !id(r).equals(id(base))).collect(Collectors.toMap(KubernetesManifestsTest::id, KubernetesManifestsTest::tree));
    assertThat(g).isEqualTo(b);
  }

  @Test
  void theOverlaysPatchFailsWhenItsTargetIsNotTheWorkerContainer() {
    JsonNode deployment = tree(one(BASE, Deployment.class, "adaptrec-worker"));
    ((ObjectNode) deployment.at("/spec/template/spec/containers/0")).put("name", "sidecar");
    JsonNode patch = Kustomize.yaml(K8S.resolve("overlays/gpu/worker-gpu.yaml")).get(0);
    assertThatThrownBy(() -> JsonPatch.apply(patch, deployment)).hasMessageContaining("sidecar");
  }

  // ---------------------------------------------------------------- helpers

  /** kustomize for what these kustomizations use: resources (files, directories), namespace, JSON 6902 patches. */
  static final class Kustomize {
    static final Set<String> SUPPORTED = Set.of("apiVersion", "kind", "namespace", "resources", "patches");

    static JsonNode kustomization(Path dir) {
      List<JsonNode> docs = yaml(dir.resolve("kustomization.yaml"));
      assertThat(docs).hasSize(1);
      return docs.get(0);
    }

    static List<HasMetadata> build(Path dir) {
      List<ObjectNode> nodes = nodes(dir);
      List<HasMetadata> typed = new ArrayList<>();
      for (ObjectNode n : nodes) {
        Object o = SERIALIZATION.unmarshal(n.toString());
        assertThat(o).as("%s is a Kubernetes object", n.path("kind")).isInstanceOf(HasMetadata.class);
        typed.add((HasMetadata) o);
      }
      return typed;
    }

    static List<ObjectNode> nodes(Path dir) {
      JsonNode k = kustomization(dir);
      assertThat(k.path("kind").asText()).isEqualTo("Kustomization");
      assertThat(fieldNames(k)).as("kustomization fields this imitation implements").isSubsetOf(SUPPORTED);
      List<ObjectNode> out = new ArrayList<>();
      for (JsonNode r : k.path("resources")) {
        Path p = dir.resolve(r.asText()).normalize();
        if (Files.isDirectory(p)) {
          out.addAll(nodes(p));
        } else {
          yaml(p).forEach(n -> out.add((ObjectNode) n));
        }
      }
      for (JsonNode patch : k.path("patches")) {
        assertThat(fieldNames(patch)).isSubsetOf("path", "target");
        List<JsonNode> ops = yaml(dir.resolve(patch.path("path").asText()));
        assertThat(ops).hasSize(1);
        assertThat(ops.get(0).isArray()).as("only JSON 6902 patches (a list of operations) are implemented").isTrue();
        JsonNode target = patch.path("target");
        assertThat(fieldNames(target)).isSubsetOf("group", "version", "kind", "name", "namespace");
        int applied = 0;
        for (int i = 0; i < out.size(); i++) {
          if (matches(out.get(i), target)) {
            out.set(i, (ObjectNode) JsonPatch.apply(ops.get(0), out.get(i)));
            applied++;
          }
        }
        assertThat(applied).as("resources the patch %s targets", patch.path("path")).isEqualTo(1);
      }
      if (k.has("namespace")) {
        String ns = k.path("namespace").asText();
        for (ObjectNode n : out) {
          if (!n.path("kind").asText().equals("Namespace")) {
            ((ObjectNode) n.path("metadata")).put("namespace", ns);
          }
        }
      }
      return out;
    }

    static boolean matches(JsonNode resource, JsonNode target) {
      String apiVersion = resource.path("apiVersion").asText();
      String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
      String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
      return (!target.has("group") || target.path("group").asText().equals(group))
          && (!target.has("version") || target.path("version").asText().equals(version))
          && (!target.has("kind") || target.path("kind").asText().equals(resource.path("kind").asText()))
          && (!target.has("name") || target.path("name").asText().equals(resource.path("metadata").path("name").asText()));
    }

    /** The documents of a YAML file (split at '---' lines; empty and comment-only documents skipped). */
    static List<JsonNode> yaml(Path file) {
      try {
        List<JsonNode> docs = new ArrayList<>();
        for (String doc : Files.readString(file).split("(?m)^---\\s*$")) {
          if (doc.lines().map(String::strip).allMatch(l -> l.isEmpty() || l.startsWith("#"))) {
            continue;
          }
          docs.add(JSON.readTree(SERIALIZATION.convertToJson(doc)));
        }
        return docs;
      } catch (IOException e) {
        throw new AssertionError("cannot read " + file, e);
      }
    }
  }

  static String id(HasMetadata r) {
    return r.getKind() + "/" + r.getMetadata().getName();
  }

  static <T extends HasMetadata> List<T> all(List<HasMetadata> build, Class<T> type) {
    return build.stream().filter(type::isInstance).map(type::cast).toList();
  }

  static <T extends HasMetadata> T one(List<HasMetadata> build, Class<T> type, String name) {
    List<T> found = all(build, type).stream().filter(r -> r.getMetadata().getName().equals(name)).toList();
    assertThat(found).as("%s %s", type.getSimpleName(), name).hasSize(1);
    return found.get(0);
  }

  static Optional<PodTemplateSpec> template(HasMetadata r) {
    if (r instanceof Deployment d) return Optional.of(d.getSpec().getTemplate());
    if (r instanceof StatefulSet s) return Optional.of(s.getSpec().getTemplate());
    if (r instanceof Job j) return Optional.of(j.getSpec().getTemplate());
    return Optional.empty();
  }

  static Optional<PodSpec> podSpec(HasMetadata r) {
    return template(r).map(PodTemplateSpec::getSpec);
  }

  static GenericKubernetesResource flinkDeployment() {
    List<HasMetadata> f = BASE.stream().filter(r -> r.getKind().equals("FlinkDeployment")).toList();
    assertThat(f).hasSize(1);
    return (GenericKubernetesResource) f.get(0);
  }

  static JsonNode flinkSpec() {
    return JSON.valueToTree(flinkDeployment().getAdditionalProperties().get("spec"));
  }

  /** The FlinkDeployment's podTemplate as the typed Pod the operator reads it as. */
  static Pod flinkPod() {
    return SERIALIZATION.convertValue(flinkDeployment().getAdditionalProperties().get("spec") instanceof Map<?, ?> m
        ? m.get("podTemplate") : null, Pod.class);
  }

  static List<Probe> probes(Container c) {
    return Stream.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe()).filter(Objects::nonNull).toList();
  }

  static int port(Container c, String name) {
    return c.getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " has no port " + name)).getContainerPort();
  }

  /** A probe's or Service's port: a number, or the name of one of the container's ports. */
  static int resolve(Container c, IntOrString port) {
    return port.getIntVal() != null ? port.getIntVal() : port(c, port.getStrVal());
  }

  static Volume volume(PodSpec spec, String name) {
    return spec.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name));
  }

  static String mountPath(Container c, String volume) {
    return c.getVolumeMounts().stream().filter(m -> m.getName().equals(volume)).findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " does not mount " + volume)).getMountPath();
  }

  static VolumeMount mountAt(Container c, String path) {
    return c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(path)).findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " mounts nothing at " + path));
  }

  /**
   * The file a container sees at {@code path}, written to a temporary file: the path must lie in a
   * ConfigMap volume's mount and name one of that ConfigMap's keys.
   */
  Path configFile(PodSpec spec, Container c, String path) throws IOException {
    for (VolumeMount m : c.getVolumeMounts()) {
      if (!path.startsWith(m.getMountPath() + "/")) continue;
      Volume v = volume(spec, m.getName());
      assertThat(v.getConfigMap()).as("%s is mounted from a ConfigMap", path).isNotNull();
      ConfigMap cm = one(BASE, ConfigMap.class, v.getConfigMap().getName());
      String key = path.substring(m.getMountPath().length() + 1);
      assertThat(cm.getData()).as("ConfigMap %s", cm.getMetadata().getName()).containsKey(key);
      Path file = tmp.resolve(cm.getMetadata().getName() + "-" + key);
      Files.writeString(file, cm.getData().get(key));
      return file;
    }
    throw new AssertionError(c.getName() + ": nothing is mounted at " + path);
  }

  Path dataFile(ConfigMap cm) throws IOException {
    assertThat(cm.getData()).hasSize(1);
    var e = cm.getData().entrySet().iterator().next();
    Path file = tmp.resolve(cm.getMetadata().getName() + "-" + e.getKey());
    Files.writeString(file, e.getValue());
    return file;
  }

  /** The ServingConfig of role worker, trainer or controller from its ConfigMap (the worker with a sample instance id). */
  ServingConfig servingConfig(String role) throws IOException {
    return ServingConfig.load(dataFile(one(BASE, ConfigMap.class, "adaptrec-" + role + "-config")),
        role.equals("worker") ? Map.of("serving.instance.id", SAMPLE_POD) : Map.of());
  }

  Path streamsConfigFile() throws IOException {
    return dataFile(one(BASE, ConfigMap.class, "adaptrec-streams-config"));
  }

  Path append(Path file, String line) throws IOException {
    Path copy = tmp.resolve("bad-" + file.getFileName());
    Files.writeString(copy, Files.readString(file) + "\n" + line + "\n");
    return copy;
  }

  static java.util.Properties props(String... kv) {
    java.util.Properties p = new java.util.Properties();
    for (int i = 0; i < kv.length; i += 2) p.setProperty(kv[i], kv[i + 1]);
    return p;
  }

  /** $(VAR) in args as the kubelet expands it: from the container's env (fieldRef metadata.name: a sample pod name). */
  static List<String> expand(Container c, List<String> args) {
    Map<String, String> env = new HashMap<>();
    for (EnvVar e : c.getEnv()) {
      if (e.getValue() != null) {
        env.put(e.getName(), e.getValue());
      } else if (e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null
          && e.getValueFrom().getFieldRef().getFieldPath().equals("metadata.name")) {
        env.put(e.getName(), SAMPLE_POD);
      }
    }
    List<String> out = new ArrayList<>();
    for (String a : args) {
      Matcher m = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)").matcher(a);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        String v = env.get(m.group(1));
        assertThat(v).as("$(%s) in the arguments of %s is defined in its env", m.group(1), c.getName()).isNotNull();
        m.appendReplacement(sb, Matcher.quoteReplacement(v));
      }
      m.appendTail(sb);
      out.add(sb.toString());
    }
    return out;
  }

  static ParseResult topicsArgs() {
    Container c = one(BASE, Job.class, "adaptrec-topics").getSpec().getTemplate().getSpec().getContainers().get(0);
    ParseResult r = AdaptrecCli.build().parseArgs(c.getArgs().toArray(String[]::new));
    assertThat(r.hasSubcommand()).isTrue();
    return r.subcommand();
  }

  static String bootstrapOfTopicsJob() {
    return topicsArgs().matchedOptionValue("--bootstrap", "");
  }

  static int replicationFactorOfTopicsJob() {
    return topicsArgs().matchedOptionValue("--replication-factor", 1);
  }

  static int get(int port, String path) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** A model object as JSON, serialized the way the client sends it. */
  static JsonNode tree(Object o) {
    try {
      return JSON.readTree(SERIALIZATION.asJson(o));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static Set<String> fieldNames(JsonNode n) {
    Set<String> names = new LinkedHashSet<>();
    n.fieldNames().forEachRemaining(names::add);
    return names;
  }

  static <T> Set<T> union(Set<T> a, Set<T> b) {
    Set<T> u = new LinkedHashSet<>(a);
    u.addAll(b);
    return u;
  }

  /** Every field the typed model did not recognise (fabric8 keeps them as additionalProperties). */
  static List<String> unknownFields(Object o) {
    List<String> found = new ArrayList<>();
    walk(o, "", found);
    return found;
  }

  private static void walk(Object o, String path, List<String> found) {
    if (o == null) return;
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object e : c) walk(e, path + "[" + i++ + "]", found);
      return;
    }
    if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> walk(v, path + "." + k, found));
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model.")) return;
    for (Method m : o.getClass().getMethods()) {
      if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getDeclaringClass() == Object.class) continue;
      Object v;
      try {
        v = m.invoke(o);
      } catch (ReflectiveOperationException | RuntimeException e) {
        continue;
      }
      if (m.getName().equals("getAdditionalProperties")) {
        if (v instanceof Map<?, ?> extra && !extra.isEmpty()) found.add((path.isEmpty() ? "" : path + ": ") + extra.keySet());
      } else if (!m.getReturnType().isPrimitive() && !(v instanceof String)) {
        String f = m.getName().substring(3);
        walk(v, path + "." + Character.toLowerCase(f.charAt(0)) + f.substring(1), found);
      }
    }
  }

  @Test
  void theUnknownFieldCheckFindsATypo() {
    Deployment d = SERIALIZATION.unmarshal("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: x}
        spec:
          template:
            spec:
              containers:
                - name: c
                  readinesProbe: {httpGet: {path: /, port: 1}}
        """, Deployment.class);
    assertThat(unknownFields(d)).singleElement().asString().contains("readinesProbe");
  }
}
