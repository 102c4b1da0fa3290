package io.adaptrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** The registry also runs as its own process (the local stack and docker images start it so). */
class RegistryProcessIT {

  @Test
  void mainServesUntilTerminated() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        EmbeddedSchemaRegistry.class.getName(), "0")
        .redirectErrorStream(true)
        .start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String url = null;
      for (String line; (line = out.readLine()) != null; ) {
        if (line.startsWith("Schema registry listening at ")) {
          url = line.substring("Schema registry listening at ".length()).split(" ")[0];
          break;
        }
      }
      assertThat(url).as("startup line").startsWith("http://127.0.0.1:");

      RegistryClient client = new RegistryClient(AvroSerdeConfig.of(url));
      int id = client.register("proc-value", Schema.create(Schema.Type.LONG));
      assertThat(client.schemaById(id).getType()).isEqualTo(Schema.Type.LONG);
      assertThat(client.subjects()).containsExactly("proc-value");
    } finally {
      p.destroy(); // SIGTERM: the shutdown hook closes the server
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("exits on SIGTERM").isTrue();
    }
  }
}
