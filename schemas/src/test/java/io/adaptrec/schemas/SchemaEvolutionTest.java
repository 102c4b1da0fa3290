package io.adaptrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.Item;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** How the project's schemas may evolve, checked by the registry exactly as a deployment would. */
class SchemaEvolutionTest {
  private final RegistryClient registry = new RegistryClient(TestRegistry.serdeConfig());

  /** Item plus one extra string field, with or without a default. */
  private static Schema itemPlus(String field, boolean withDefault) {
    Schema item = Item.getClassSchema();
    List<Schema.Field> fields = new ArrayList<>();
    item.getFields().forEach(f -> fields.add(new Schema.Field(f, f.schema())));
    fields.add(new Schema.Field(field, Schema.create(Schema.Type.STRING), "added in v2", withDefault ? "" : null));
    return Schema.createRecord(item.getName(), item.getDoc(), item.getNamespace(), false, fields);
  }

  @Test
  void addedFieldWithDefaultIsAcceptedUnderBackward() {
    String subject = TestRegistry.uniquePrefix() + "adaptrec.items-value";
    int v1 = registry.register(subject, Item.getClassSchema());
    int v2 = registry.register(subject, itemPlus("language", true));
    assertThat(v2).isNotEqualTo(v1);
    assertThat(registry.latest(subject).version()).isEqualTo(2);
  }

  @Test
  void addedFieldWithoutDefaultIsRejectedWithA409NamingTheField() {
    String subject = TestRegistry.uniquePrefix() + "adaptrec.items-value";
    registry.register(subject, Item.getClassSchema());
    assertThat(registry.isCompatible(subject, itemPlus("language", false))).isFalse();
    assertThatThrownBy(() -> registry.register(subject, itemPlus("language", false)))
        .isInstanceOf(RegistryException.class)
        .satisfies(e -> assertThat(((RegistryException) e).httpStatus()).isEqualTo(409))
        .hasMessageContaining("incompatible with an earlier schema for subject \"" + subject + "\"")
        .hasMessageContaining("READER_FIELD_MISSING_DEFAULT_VALUE")
        .hasMessageContaining("language");
  }

  static final Schema A = SchemaBuilder.record("R").fields().requiredLong("a").endRecord();
  static final Schema AB = SchemaBuilder.record("R").fields().requiredLong("a").requiredLong("b").endRecord();
  static final Schema B_DEFAULTED = SchemaBuilder.record("R").fields()
      .requiredLong("a").name("b").type().longType().longDefault(0).endRecord();
  static final Schema NO_A = SchemaBuilder.record("R").fields()
      .name("b").type().longType().longDefault(0).endRecord();

  /**
   * Candidate after version 1 = {a}: adding required 'b' (AB) breaks new readers of old data
   * (BACKWARD); dropping 'a' (NO_A) breaks old readers, which need 'a' (FORWARD); adding 'b' with
   * a default (B_DEFAULTED) breaks neither.
   */
  @ParameterizedTest(name = "{0}: {1} -> compatible={2}")
  @CsvSource({
      "NONE, AB, true",
      "BACKWARD, AB, false",
      "BACKWARD, NO_A, true",
      "BACKWARD, B_DEFAULTED, true",
      "FORWARD, AB, true",
      "FORWARD, NO_A, false",
      "FULL, AB, false",
      "FULL, NO_A, false",
      "FULL, B_DEFAULTED, true",
  })
  void levelsMatchConfluentSemantics(Compatibility level, String candidate, boolean compatible) {
    Schema c = switch (candidate) {
      case "AB" -> AB;
      case "NO_A" -> NO_A;
      default -> B_DEFAULTED;
    };
    assertThat(level.violations(c, List.of(A), List.of(1)).isEmpty()).isEqualTo(compatible);
  }

  @Test
  void transitiveLevelsCheckEveryVersionNotJustTheLatest() {
    // history: {a}, then {b=0} (a dropped). A new {a} reads {b=0}-data? no: 'a' has no default.
    Schema onlyB = SchemaBuilder.record("R").fields().name("b").type().longType().longDefault(0).endRecord();
    Schema aWithDefault = SchemaBuilder.record("R").fields().name("a").type().longType().longDefault(1).endRecord();
    Schema bRequiredA = SchemaBuilder.record("R").fields().requiredLong("b").endRecord();
    List<Schema> history = List.of(A, onlyB);
    assertThat(Compatibility.BACKWARD.violations(aWithDefault, history, List.of(1, 2))).isEmpty();
    // bRequiredA reads latest {b=0} data fine but not version 1 data, which has no 'b'
    assertThat(Compatibility.BACKWARD.violations(bRequiredA, history, List.of(1, 2))).isEmpty();
    assertThat(Compatibility.BACKWARD_TRANSITIVE.violations(bRequiredA, history, List.of(1, 2)))
        .singleElement().asString().contains("version 1").contains("b");
    assertThat(Compatibility.FULL_TRANSITIVE.violations(bRequiredA, history, List.of(1, 2))).isNotEmpty();
    assertThat(Compatibility.FORWARD_TRANSITIVE.violations(onlyB, List.of(A), List.of(1)))
        .singleElement().asString().contains("version 1 cannot read");
  }

  @Test
  void levelNamesAreParsedLikeConfluents() {
    assertThat(Compatibility.parse("full_transitive")).isEqualTo(Compatibility.FULL_TRANSITIVE);
    assertThatThrownBy(() -> Compatibility.parse("STRICT")).hasMessageContaining("STRICT")
        .hasMessageContaining("BACKWARD_TRANSITIVE");
  }

  /**
   * The serving issue evolved these schemas (asOf on requests; TIMEOUT, path, selected
   * demonstrations and pool versions on responses; the pool version as a field), the rollout issue
   * these (a PAUSED state and the latest decision on rollouts, latency histograms and late/missing
   * outcome counts on arm metrics, tensor shapes and engine on adapter manifests). A deployment that
   * registered the first versions must accept the current ones under the registry's default level:
   * new readers read old data, and old data read by a new reader gets the documented defaults.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"RecommendationRequest", "RecommendationResponse", "SimilarUserPool", "Rollout", "ArmMetrics",
      "AdapterManifest"})
  void servingSchemasEvolveBackwardCompatiblyFromTheirFirstVersion(String name) throws Exception {
    Schema v1;
    try (var in = getClass().getResourceAsStream("/schema-history/" + name + ".v1.avsc")) {
      v1 = new Schema.Parser().parse(in);
    }
    Schema current = (Schema) Class.forName("io.adaptrec.avro." + name).getField("SCHEMA$").get(null);
    assertThat(current).isNotEqualTo(v1);
    String subject = TestRegistry.uniquePrefix() + name + "-value";
    registry.register(subject, v1);
    assertThat(registry.isCompatible(subject, current)).isTrue();
    registry.register(subject, current);
    assertThat(registry.latest(subject).version()).isEqualTo(2);
  }
}
