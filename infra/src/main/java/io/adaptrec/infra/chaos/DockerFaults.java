package io.adaptrec.infra.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Faults on the services of a running compose project, through the Docker CLI: {@code docker kill
 * -s KILL} is a real kill -9 of the service's process, {@code docker stop} a graceful stop (SIGTERM,
 * then KILL after the timeout), {@code docker start} brings the same container (same volumes, same
 * configuration) back. Containers are found by compose's labels, so no compose file or environment
 * is needed.
 */
public final class DockerFaults {
  private final String project;

  public DockerFaults(String project) {
    this.project = project;
  }

  /** The container id of {@code service} (running or not); fails naming the project when absent. */
  public String container(String service) throws IOException, InterruptedException {
    String id = run("docker", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project=" + project,
        "--filter", "label=com.docker.compose.service=" + service).strip();
    if (id.isEmpty()) {
      throw new IllegalStateException("no container of service '" + service + "' in compose project '" + project
          + "' (bring the cluster up first: ADAPTREC_MODEL_DIR=... docker-compose -p " + project
          + " -f infra/deploy/docker-compose.yml up -d)");
    }
    return id.lines().findFirst().orElseThrow();
  }

  public void kill(String service) throws IOException, InterruptedException {
    run("docker", "kill", "-s", "KILL", container(service));
  }

  public void stop(String service, int timeoutSeconds) throws IOException, InterruptedException {
    run("docker", "stop", "-t", Integer.toString(timeoutSeconds), container(service));
  }

  public void start(String service) throws IOException, InterruptedException {
    run("docker", "start", container(service));
  }

  /** The container's health status (healthy, starting, unhealthy) or its state when it has no health check. */
  public String health(String service) throws IOException, InterruptedException {
    return run("docker", "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
        container(service)).strip();
  }

  /**
   * Whether the service's most recent health probe passed. Docker's status lags: it turns
   * "healthy" on the first passing probe and "unhealthy" only after the check's retries (minutes
   * here), so a service that passed once and then died still reads "healthy"; the last probe does not.
   */
  public boolean lastProbePassed(String service) throws IOException, InterruptedException {
    String codes = run("docker", "inspect", "-f", "{{if .State.Health}}{{range .State.Health.Log}}{{.ExitCode}} {{end}}{{else}}0{{end}}",
        container(service)).strip();
    String[] all = codes.split("\\s+");
    return !codes.isEmpty() && all[all.length - 1].equals("0");
  }

  /** Waits until {@code service} is healthy and its latest probe passed; returns the milliseconds waited. */
  public long awaitHealthy(String service, long timeoutMs) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    while (true) {
      String h = health(service);
      if (h.equals("healthy") && lastProbePassed(service)) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      }
      if (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) > timeoutMs) {
        throw new IllegalStateException(service + " not healthy within " + timeoutMs + " ms (" + h + ")");
      }
      Thread.sleep(250);
    }
  }

  /**
   * Follows the service's log from {@code sinceEpochMillis} and returns the first line containing
   * {@code text} as soon as it is written, or null after {@code timeoutMs}.
   */
  public String awaitLogLine(String service, long sinceEpochMillis, String text, long timeoutMs)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder("docker", "logs", "-f", "--since", since(sinceEpochMillis), container(service))
        .redirectErrorStream(true).start();
    java.util.concurrent.atomic.AtomicReference<String> found = new java.util.concurrent.atomic.AtomicReference<>();
    Thread reader = new Thread(() -> {
      try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          if (line.contains(text)) {
            found.set(line);
            return;
          }
        }
      } catch (IOException e) {
        // the process was stopped: nothing more to read
      }
    }, "docker-logs-" + service);
    reader.setDaemon(true);
    reader.start();
    reader.join(timeoutMs);
    p.destroyForcibly();
    return found.get();
  }

  /** How many lines containing one of {@code texts} the service logged since {@code sinceEpochMillis}. */
  public long countLogLines(String service, long sinceEpochMillis, String... texts) throws IOException, InterruptedException {
    return run("docker", "logs", "--since", since(sinceEpochMillis), container(service)).lines()
        .filter(l -> java.util.Arrays.stream(texts).anyMatch(l::contains)).count();
  }

  private static String since(long epochMillis) {
    return String.format(java.util.Locale.ROOT, "%.3f", epochMillis / 1000.0);
  }

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + " did not finish within 120 s");
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", new ArrayList<>(List.of(cmd))) + " failed (" + p.exitValue() + "): " + out.strip());
    }
    return out;
  }
}
