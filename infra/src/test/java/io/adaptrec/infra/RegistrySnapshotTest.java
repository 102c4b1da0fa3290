package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import io.adaptrec.schemas.RegistryClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry restored from a snapshot must hand out the same ids and versions: persisted Kafka
 * records reference schemas by id only. Runs against the real embedded registry (in-process, ~0.3 s).
 */
class RegistrySnapshotTest {
  @TempDir
  Path dir;

  static Schema record(String name, String... fields) {
    SchemaBuilder.FieldAssembler<Schema> f = SchemaBuilder.record(name).namespace("test").fields();
    for (String field : fields) {
      f = f.name(field).type().stringType().stringDefault("");
    }
    return f.endRecord();
  }

  @Test
  void restoreReproducesIdsAndVersionsEvenWhenSubjectsShareSchemas() throws Exception {
    Path file = dir.resolve("registry-snapshot.json");
    Schema a1 = record("A", "x");
    Schema b1 = record("B", "y");
    Schema a2 = record("A", "x", "z");            // evolution with a default: compatible
    RegistrySnapshot.Snapshot before;
    try (EmbeddedSchemaRegistry first = EmbeddedSchemaRegistry.start(0)) {
      RegistryClient c = new RegistryClient(AvroSerdeConfig.of(first.url()));
      c.register("b-value", b1);                  // id 1
      c.register("a-value", a1);                  // id 2
      c.register("c-value", a1);                  // reuses id 2 under another subject
      c.register("a-value", a2);                  // id 3, version 2
      c.setCompatibility("c-value", "NONE");
      c.register("c-value", b1);                  // c's version 2 has the LOWEST id: order matters on restore
      c.setCompatibility("c-value", "FULL");      // stricter now than when version 2 was admitted
      RegistrySnapshot s = RegistrySnapshot.attach(first.url(), file);
      before = s.export();
      s.close();                                  // writes the file
    }
    assertThat(Files.exists(file)).isTrue();
    assertThat(before.schemas()).hasSize(5);

    try (EmbeddedSchemaRegistry second = EmbeddedSchemaRegistry.start(0)) {
      RegistrySnapshot restored = RegistrySnapshot.attach(second.url(), file);
      RegistrySnapshot.Snapshot after = restored.export();
      restored.close();
      assertThat(after).isEqualTo(before);
      assertThat(after.subjectCompatibility()).containsExactly(java.util.Map.entry("c-value", "FULL"));
      RegistryClient c = new RegistryClient(AvroSerdeConfig.of(second.url()));
      assertThat(c.schemaById(3)).isEqualTo(a2);
      // new registrations continue after the restored ids
      assertThat(c.register("d-value", record("D", "w"))).isEqualTo(4);
    }
  }

  @Test
  void aSnapshotWhoseIdsCannotBeReproducedFailsLoudly() throws Exception {
    // ids 1 and 3 without an id 2 (e.g. a deleted subject): a fresh registry would assign 1 and 2
    RegistrySnapshot.Snapshot gappy = new RegistrySnapshot.Snapshot("BACKWARD", java.util.Map.of(), List.of(
        new RegistrySnapshot.Entry("a-value", 1, 1, record("A", "x").toString()),
        new RegistrySnapshot.Entry("b-value", 1, 3, record("B", "y").toString())));
    Path file = dir.resolve("gappy.json");
    new com.fasterxml.jackson.databind.ObjectMapper().writeValue(file.toFile(), gappy);
    try (EmbeddedSchemaRegistry fresh = EmbeddedSchemaRegistry.start(0)) {
      assertThatThrownBy(() -> RegistrySnapshot.attach(fresh.url(), file))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(file.toString()).hasMessageContaining("original ids");
    }
  }
}
