package io.adaptrec.infra;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.kafka.common.utils.AppInfoParser;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code --version} of every command: the project version (filtered into {@code version.properties}
 * at build time) and the versions of the engines actually on the classpath, which is what a bug
 * report needs when a module's pin and a transitive jar disagree.
 */
public final class VersionInfo implements IVersionProvider {
  private static final String RESOURCE = "/io/adaptrec/infra/version.properties";

  /** The project version, e.g. {@code 0.1.0-SNAPSHOT}. */
  public static String projectVersion() {
    try (InputStream in = VersionInfo.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return "unknown (" + RESOURCE + " missing from the classpath)";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + RESOURCE, e);
    }
  }

  @Override
  public String[] getVersion() {
    return new String[] {
        "adaptrec " + projectVersion(),
        "  Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")",
        "  Kafka clients/Streams/broker " + AppInfoParser.getVersion(),
        "  Flink " + EnvironmentInformation.getVersion()};
  }
}
