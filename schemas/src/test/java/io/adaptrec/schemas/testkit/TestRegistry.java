package io.adaptrec.schemas.testkit;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import io.adaptrec.schemas.Topics;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@link EmbeddedSchemaRegistry} per test JVM (startup ~0.3 s), plus {@link Topics} with a
 * prefix unique to each call so tests sharing the broker and registry never see each other's
 * records or schema versions.
 */
public final class TestRegistry {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedSchemaRegistry registry;

  private TestRegistry() {}

  /** Base URL of this JVM's registry, starting it on first call. */
  public static synchronized String url() {
    if (registry == null) {
      registry = EmbeddedSchemaRegistry.start(0);
      Runtime.getRuntime().addShutdownHook(new Thread(registry::close, "test-registry-stop"));
    }
    return registry.url();
  }

  /** Serde settings pointing at this JVM's registry (auto-register, generated classes). */
  public static AvroSerdeConfig serdeConfig() {
    return AvroSerdeConfig.of(url());
  }

  /**
   * Topics named {@code t<N>-<pid>.adaptrec.*}: unique per call, so a test owns its topics and
   * subjects even on a shared external broker.
   */
  public static Topics freshTopics() {
    return new Topics(uniquePrefix() + Topics.DEFAULT_PREFIX, serdeConfig());
  }

  /** A prefix such as {@code t3-12345.}, unique within and across concurrently running JVMs. */
  public static String uniquePrefix() {
    return "t" + COUNTER.incrementAndGet() + "-" + ProcessHandle.current().pid() + ".";
  }
}
