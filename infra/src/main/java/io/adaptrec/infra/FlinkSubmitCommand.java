package io.adaptrec.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec flink-submit}: submits a job jar to a Flink session cluster through its REST API
 * (what {@code flink run} does, without a Flink distribution): waits until the cluster has the
 * slots, uploads the jar ({@code POST /jars/upload}), runs its entry class with the given
 * arguments ({@code POST /jars/:id/run}) and waits until every vertex of the job runs. Idempotent
 * by job name: when a job of that name is already running (or restarting) it submits nothing, so a
 * compose or Kubernetes init step can run it on every start.
 */
@Command(name = "flink-submit", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {"Submit a job jar to a Flink session cluster through its REST API and wait until the job runs.",
        "Submits nothing when a job of the same name is already running."},
    footer = {"", "Example (the pools job):",
        "  adaptrec flink-submit --rest http://127.0.0.1:8082 --jar flink-jobs/target/flink-jobs-job.jar \\",
        "      --entry-class io.adaptrec.flink.SimilarUserPoolsJob --job-name adaptrec-similar-user-pools \\",
        "      /etc/adaptrec/similar-user-pools.properties"})
public final class FlinkSubmitCommand implements Callable<Integer> {
  /** The name SimilarUserPoolsJob gives its job. */
  static final String POOLS_JOB_NAME = io.adaptrec.flink.SimilarUserPoolsJob.JOB_NAME;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> ALIVE = List.of("CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING");

  @Spec
  CommandSpec spec;

  @Option(names = "--rest", paramLabel = "URL", defaultValue = "http://127.0.0.1:8082",
      description = "The JobManager's REST address (default: ${DEFAULT-VALUE}).")
  String rest;

  @Option(names = "--jar", paramLabel = "FILE", required = true, description = "The job jar (with its dependencies but without Flink's).")
  Path jar;

  @Option(names = "--entry-class", paramLabel = "CLASS", required = true, description = "The class whose main builds the job.")
  String entryClass;

  @Option(names = "--job-name", paramLabel = "NAME", defaultValue = POOLS_JOB_NAME,
      description = "The name the job gives itself, to recognise it already running (default: ${DEFAULT-VALUE}).")
  String jobName;

  @Option(names = "--parallelism", paramLabel = "N", defaultValue = "0",
      description = "Job parallelism; 0 = what the job itself sets (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "300",
      description = "How long to wait for the cluster and then for the job to run, in seconds (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Parameters(paramLabel = "ARG", description = "Arguments of the entry class's main (the pools job: its properties file, on the JobManager).")
  List<String> programArgs = new ArrayList<>();

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalArgumentException("--jar " + jar + " does not exist (mvn -pl flink-jobs -am package builds flink-jobs/target/flink-jobs-job.jar)");
    }
    if (parallelism < 0) {
      throw new IllegalArgumentException("--parallelism must be >= 0, got " + parallelism);
    }
    if (timeoutSeconds < 1) {
      throw new IllegalArgumentException("--timeout must be >= 1 s, got " + timeoutSeconds);
    }
    Duration timeout = Duration.ofSeconds(timeoutSeconds);
    String base = Endpoints.stripSlash(rest);
    var out = spec.commandLine().getOut();
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode overview = waitForSlots(base, deadline, timeout);
    out.printf("flink-submit: cluster at %s: %d task manager(s), %d/%d slots free%n", base,
        overview.path("taskmanagers").asInt(), overview.path("slots-available").asInt(), overview.path("slots-total").asInt());
    for (JsonNode job : get(base + "/jobs/overview").path("jobs")) {
      if (jobName.equals(job.path("name").asText()) && ALIVE.contains(job.path("state").asText())) {
        out.printf("flink-submit: job '%s' already %s (%s); nothing submitted%n", jobName, job.path("state").asText(), job.path("jid").asText());
        out.flush();
        return 0;
      }
    }
    String jarId = upload(base);
    ObjectNode run = JSON.createObjectNode().put("entryClass", entryClass);
    run.putArray("programArgsList").addAll(programArgs.stream().map(JSON.getNodeFactory()::textNode).toList());
    if (parallelism > 0) {
      run.put("parallelism", parallelism);
    }
    JsonNode started = post(base + "/jars/" + jarId + "/run", HttpRequest.BodyPublishers.ofString(run.toString()), "application/json");
    String jobId = started.path("jobid").asText();
    out.printf("flink-submit: uploaded %s (%d bytes) as %s, started job %s%n", jar.getFileName(), Files.size(jar), jarId, jobId);
    out.flush();
    while (true) {
      JsonNode job = get(base + "/jobs/" + jobId);
      String state = job.path("state").asText();
      long running = 0;
      int vertices = 0;
      for (JsonNode v : job.path("vertices")) {
        vertices++;
        if ("RUNNING".equals(v.path("status").asText())) {
          running++;
        }
      }
      if ("RUNNING".equals(state) && vertices > 0 && running == vertices) {
        out.printf("flink-submit: job '%s' (%s) RUNNING, %d vertices%n", job.path("name").asText(), jobId, vertices);
        return 0;
      }
      if (List.of("FAILED", "CANCELED", "FINISHED", "SUSPENDED").contains(state)) {
        JsonNode exceptions = get(base + "/jobs/" + jobId + "/exceptions");
        throw new IllegalStateException("job " + jobId + " is " + state + ": "
            + exceptions.path("rootException").asText(exceptions.toString()));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("job " + jobId + " did not run within " + timeout + " (state " + state + ", "
            + running + "/" + vertices + " vertices running)");
      }
      Thread.sleep(500);
    }
  }

  private JsonNode waitForSlots(String base, long deadline, Duration timeout) throws InterruptedException {
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      try {
        JsonNode o = get(base + "/overview");
        if (o.path("taskmanagers").asInt() > 0 && o.path("slots-available").asInt() >= Math.max(1, parallelism)) {
          return o;
        }
        last = o.path("taskmanagers").asInt() + " task manager(s), " + o.path("slots-available").asInt() + " free slot(s)";
      } catch (IOException e) {
        last = e.getMessage();
      }
      Thread.sleep(1000);
    }
    throw new IllegalStateException("the Flink cluster at " + base + " had no free slots within " + timeout + " (" + last + ")");
  }

  private String upload(String base) throws IOException, InterruptedException {
    String boundary = "adaptrec-" + UUID.randomUUID();
    byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
        + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
    // streamed from the file: a job jar is tens of MB, the submitting JVM may be small
    JsonNode r = post(base + "/jars/upload", HttpRequest.BodyPublishers.concat(HttpRequest.BodyPublishers.ofByteArray(head),
        HttpRequest.BodyPublishers.ofFile(jar), HttpRequest.BodyPublishers.ofByteArray(tail)),
        "multipart/form-data; boundary=" + boundary);
    String file = r.path("filename").asText();
    if (file.isEmpty()) {
      throw new IOException("jar upload answered without a filename: " + r);
    }
    return Path.of(file).getFileName().toString();
  }

  private JsonNode get(String url) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build());
  }

  private JsonNode post(String url, HttpRequest.BodyPublisher body, String contentType) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(2))
        .header("Content-Type", contentType).POST(body).build());
  }

  private JsonNode send(HttpRequest request) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IOException(request.method() + " " + request.uri() + " answered " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body());
  }
}
