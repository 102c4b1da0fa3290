package io.adaptrec.images.flink;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint;
import org.apache.flink.runtime.taskexecutor.TaskManagerRunner;

/**
 * The entry point of the {@code adaptrec/flink-cluster} image: {@code jobmanager} (a standalone
 * session cluster: REST API and web UI, jar upload and run) or {@code taskmanager}, started through
 * Flink's own entry-point classes the way {@code bin/jobmanager.sh} / {@code bin/taskmanager.sh}
 * would (there is no Flink distribution on Maven Central, only its jars).
 *
 * <p>Configuration, as in the official image: {@code FLINK_PROPERTIES} holds {@code key: value}
 * lines; they go into {@code $FLINK_CONF_DIR/config.yaml} (default {@code /tmp/flink-conf}) on top
 * of {@link #DEFAULTS}. For a TaskManager the memory components are derived from
 * {@code taskmanager.memory.process.size} exactly as the start scripts do (they pass them as
 * dynamic properties); give the JVM the printed heap through {@code JAVA_TOOL_OPTIONS}.
 */
public final class FlinkClusterMain {
  /** What the image sets unless FLINK_PROPERTIES says otherwise. */
  static final Map<String, String> DEFAULTS = defaults();

  private FlinkClusterMain() {}

  private static Map<String, String> defaults() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("jobmanager.rpc.address", "127.0.0.1");
    d.put("jobmanager.rpc.port", "6123");
    d.put("jobmanager.bind-host", "127.0.0.1");
    d.put("jobmanager.memory.process.size", "768m");
    d.put("taskmanager.host", "127.0.0.1");
    d.put("taskmanager.bind-host", "127.0.0.1");
    d.put("taskmanager.memory.process.size", "1280m");
    d.put("taskmanager.numberOfTaskSlots", "2");
    d.put("rest.address", "127.0.0.1");
    d.put("rest.bind-address", "127.0.0.1");
    d.put("rest.port", "8081");
    d.put("web.submit.enable", "true");
    d.put("web.upload.dir", "/tmp/flink-web-upload");
    return d;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1 || !(args[0].equals("jobmanager") || args[0].equals("taskmanager"))) {
      System.err.println("flink-cluster: usage: jobmanager | taskmanager (configure with FLINK_PROPERTIES, 'key: value' lines)");
      System.exit(2);
    }
    Path confDir = Path.of(System.getenv().getOrDefault("FLINK_CONF_DIR", "/tmp/flink-conf"));
    Map<String, String> settings = settings(System.getenv().getOrDefault("FLINK_PROPERTIES", ""));
    writeConfig(confDir, settings);
    Files.createDirectories(Path.of(settings.get("web.upload.dir")));
    List<String> entryArgs = new ArrayList<>(List.of("--configDir", confDir.toString()));
    if (args[0].equals("jobmanager")) {
      System.out.println("flink-cluster: JobManager, REST on " + settings.get("rest.bind-address") + ":"
          + settings.get("rest.port") + ", RPC " + settings.get("jobmanager.rpc.address") + ":" + settings.get("jobmanager.rpc.port"));
      StandaloneSessionClusterEntrypoint.main(entryArgs.toArray(String[]::new));
    } else {
      Configuration conf = GlobalConfiguration.loadConfiguration(confDir.toString());
      List<String> memory = taskManagerMemoryArgs(conf);
      System.out.println("flink-cluster: TaskManager of " + settings.get("jobmanager.rpc.address") + ":"
          + settings.get("jobmanager.rpc.port") + ", " + settings.get("taskmanager.numberOfTaskSlots") + " slots, memory "
          + String.join(" ", memory) + " (JVM max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB)");
      entryArgs.addAll(memory);
      TaskManagerRunner.main(entryArgs.toArray(String[]::new));
    }
  }

  /** {@link #DEFAULTS} overlaid with the {@code key: value} lines of FLINK_PROPERTIES (blank and # lines skipped). */
  static Map<String, String> settings(String flinkProperties) {
    Map<String, String> out = new LinkedHashMap<>(DEFAULTS);
    for (String line : flinkProperties.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      int colon = l.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("FLINK_PROPERTIES: not a 'key: value' line: " + l);
      }
      out.put(l.substring(0, colon).strip(), l.substring(colon + 1).strip());
    }
    return out;
  }

  static void writeConfig(Path dir, Map<String, String> settings) throws IOException {
    Files.createDirectories(dir);
    StringBuilder yaml = new StringBuilder("# written by FlinkClusterMain from FLINK_PROPERTIES\n");
    settings.forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
    Files.writeString(dir.resolve("config.yaml"), yaml);
  }

  /** The TaskManager's memory components as {@code -D key=value} pairs, as Flink's start scripts compute them. */
  static List<String> taskManagerMemoryArgs(Configuration conf) {
    TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
    return Arrays.stream(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec).trim().split("\\s+")).toList();
  }
}
