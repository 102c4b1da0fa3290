package io.adaptrec.infra;

import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec registry}: the project's Confluent-API schema registry as its own process, for a
 * local or compose cluster without a Confluent Schema Registry. Schemas live in memory; with
 * {@code --snapshot} they are saved to a file (every 5 s when changed, and on stop) and restored
 * with their ids and versions on the next start ({@link RegistrySnapshot}), so records written
 * before a restart still decode. In production use a Confluent Schema Registry (or Apicurio's
 * ccompat API) instead.
 */
@Command(name = "registry", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {"Run the Confluent-API schema registry as its own process (127.0.0.1, local and compose clusters).",
        "With --snapshot, schemas survive a restart with their ids and versions."},
    footer = {"", "Example:", "  adaptrec registry --port 8081 --snapshot /var/lib/adaptrec/registry/snapshot.json"})
public final class RegistryCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--port", paramLabel = "P", defaultValue = "8081",
      description = "Port on 127.0.0.1, 0-65535, 0 = any free port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--snapshot", paramLabel = "FILE",
      description = "Save the schemas to FILE and restore them from it at start (default: none, schemas are lost on stop).")
  Path snapshot;

  @Option(names = "--basic-auth-user-info", paramLabel = "USER:PASSWORD", defaultValue = "${env:SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO}",
      description = "Require HTTP basic authentication (default: the environment's SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, else none).")
  String userInfo;

  @Override
  public Integer call() throws Exception {
    boolean auth = userInfo != null && !userInfo.isBlank();
    // with a snapshot, clients get 503 (and wait) until it is restored, never "unknown schema id"
    EmbeddedSchemaRegistry registry = snapshot != null ? EmbeddedSchemaRegistry.startRestoring(port, auth ? userInfo : null)
        : EmbeddedSchemaRegistry.start(port, auth ? userInfo : null);
    RegistrySnapshot saver = null;
    try {
      if (snapshot != null) {
        if (snapshot.getParent() != null) {
          java.nio.file.Files.createDirectories(snapshot.getParent());
        }
        saver = RegistrySnapshot.attach(registry.url(), auth ? userInfo : null, snapshot);
      }
      registry.ready();
    } catch (Exception e) {
      registry.close();
      throw new IllegalStateException("cannot restore the registry from " + snapshot + ": " + e.getMessage(), e);
    }
    RegistrySnapshot s = saver;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        if (s != null) {
          s.close();
        }
      } catch (Exception e) {
        System.err.println("registry: saving the snapshot failed: " + e.getMessage());
      }
      registry.close();
      stopped.countDown();
    }, "registry-shutdown"));
    spec.commandLine().getOut().println("schema registry at " + registry.url()
        + (snapshot != null ? ", snapshot " + snapshot : ", no snapshot") + (auth ? ", basic auth" : "") + " (Ctrl-C to stop)");
    spec.commandLine().getOut().flush();
    stopped.await();
    return 0;
  }
}
