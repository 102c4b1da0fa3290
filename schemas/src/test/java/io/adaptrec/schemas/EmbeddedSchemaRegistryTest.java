package io.adaptrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Confluent REST subset over plain HTTP, as curl or a non-Java client would use it. */
class EmbeddedSchemaRegistryTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String V1 = "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"t\",\"fields\":["
      + "{\"name\":\"user\",\"type\":\"long\"}]}";
  static final String V2 = "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"t\",\"fields\":["
      + "{\"name\":\"user\",\"type\":\"long\"},{\"name\":\"item\",\"type\":\"long\",\"default\":0}]}";
  static final String V3_NO_DEFAULT = "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"t\",\"fields\":["
      + "{\"name\":\"user\",\"type\":\"long\"},{\"name\":\"item\",\"type\":\"long\",\"default\":0},"
      + "{\"name\":\"page\",\"type\":\"string\"}]}";

  static EmbeddedSchemaRegistry registry;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    registry = EmbeddedSchemaRegistry.start(0);
  }

  @AfterAll
  static void stop() {
    registry.close();
    registry.close(); // idempotent
  }

  record Reply(int status, JsonNode json, String raw) {}

  static Reply call(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(registry.url() + path))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json;
    try {
      json = JSON.readTree(r.body());
    } catch (Exception e) {
      json = null;
    }
    return new Reply(r.statusCode(), json, r.body());
  }

  static String schemaBody(String schema) throws Exception {
    return JSON.createObjectNode().put("schema", schema).toString();
  }

  @Test
  void aRestoringRegistryAnswers503ToClientsUntilReadySoTheyWaitInsteadOfDeadLettering() throws Exception {
    try (EmbeddedSchemaRegistry restoring = EmbeddedSchemaRegistry.startRestoring(0, null)) {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest plain = HttpRequest.newBuilder(URI.create(restoring.url() + "/subjects")).GET().build();
      HttpRequest restore = HttpRequest.newBuilder(URI.create(restoring.url() + "/subjects"))
          .header(EmbeddedSchemaRegistry.RESTORE_HEADER, "true").GET().build();
      assertThat(http.send(plain, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
      assertThat(http.send(restore, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      // a decoder meeting it treats it as an outage (retry), not as an unknown schema (dead letter)
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> AvroDeserializer.forSpecific(io.adaptrec.avro.Item.class,
              AvroSerdeConfig.of(restoring.url())).deserialize("t", new byte[] {0, 0, 0, 0, 1, 2}))
          .isInstanceOf(RegistryUnavailableException.class);
      restoring.ready();
      assertThat(http.send(plain, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void registerLookupAndReadBack() throws Exception {
    Reply reg = call("POST", "/subjects/rl-value/versions", schemaBody(V1));
    assertThat(reg.status()).isEqualTo(200);
    int id = reg.json().get("id").asInt();

    // same schema again, and under another subject: same global id
    assertThat(call("POST", "/subjects/rl-value/versions", schemaBody(V1)).json().get("id").asInt()).isEqualTo(id);
    assertThat(call("POST", "/subjects/rl-other-value/versions", schemaBody(V1)).json().get("id").asInt())
        .isEqualTo(id);

    Reply lookup = call("POST", "/subjects/rl-value", schemaBody(V1));
    assertThat(lookup.json().get("version").asInt()).isEqualTo(1);
    assertThat(lookup.json().get("id").asInt()).isEqualTo(id);
    assertThat(lookup.json().get("subject").asText()).isEqualTo("rl-value");

    assertThat(call("GET", "/schemas/ids/" + id, null).json().get("schema").asText())
        .isEqualTo(new org.apache.avro.Schema.Parser().parse(V1).toString());
    assertThat(JSON.readTree(call("GET", "/schemas/ids/" + id + "/schema", null).raw()).get("name").asText())
        .isEqualTo("Click");
    assertThat(call("GET", "/schemas/ids/" + id + "/versions", null).json().findValuesAsText("subject"))
        .containsExactlyInAnyOrder("rl-value", "rl-other-value");
    assertThat(call("GET", "/subjects", null).json().toString()).contains("\"rl-value\"", "\"rl-other-value\"");
    assertThat(call("GET", "/schemas/types", null).json().toString()).isEqualTo("[\"AVRO\"]");
  }

  @Test
  void versionsLatestAndRawSchema() throws Exception {
    call("POST", "/subjects/vl-value/versions", schemaBody(V1));
    int id2 = call("POST", "/subjects/vl-value/versions", schemaBody(V2)).json().get("id").asInt();
    assertThat(call("GET", "/subjects/vl-value/versions", null).json().toString()).isEqualTo("[1,2]");
    Reply latest = call("GET", "/subjects/vl-value/versions/latest", null);
    assertThat(latest.json().get("version").asInt()).isEqualTo(2);
    assertThat(latest.json().get("id").asInt()).isEqualTo(id2);
    assertThat(call("GET", "/subjects/vl-value/versions/-1", null).json().get("version").asInt()).isEqualTo(2);
    assertThat(call("GET", "/subjects/vl-value/versions/1/schema", null).raw()).doesNotContain("item");

    Reply missing = call("GET", "/subjects/vl-value/versions/9", null);
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.json().get("error_code").asInt()).isEqualTo(40402);
    assertThat(call("GET", "/subjects/vl-value/versions/zero", null).json().get("error_code").asInt())
        .isEqualTo(42202);
    assertThat(call("GET", "/subjects/nope/versions", null).json().get("error_code").asInt()).isEqualTo(40401);
    assertThat(call("GET", "/schemas/ids/99999", null).json().get("error_code").asInt()).isEqualTo(40403);
    assertThat(call("POST", "/subjects/vl-value", schemaBody(V3_NO_DEFAULT)).json().get("error_code").asInt())
        .isEqualTo(40403);
  }

  @Test
  void incompatibleSchemaIsRejectedWith409AndAClearMessage() throws Exception {
    call("POST", "/subjects/ev-value/versions", schemaBody(V1));
    assertThat(call("POST", "/subjects/ev-value/versions", schemaBody(V2)).status())
        .as("added field with a default is BACKWARD compatible").isEqualTo(200);

    Reply check = call("POST", "/compatibility/subjects/ev-value/versions/latest?verbose=true",
        schemaBody(V3_NO_DEFAULT));
    assertThat(check.json().get("is_compatible").asBoolean()).isFalse();
    assertThat(check.json().get("messages").toString()).contains("page");

    Reply rejected = call("POST", "/subjects/ev-value/versions", schemaBody(V3_NO_DEFAULT));
    assertThat(rejected.status()).isEqualTo(409);
    assertThat(rejected.json().get("error_code").asInt()).isEqualTo(409);
    assertThat(rejected.json().get("message").asText())
        .contains("incompatible", "ev-value", "BACKWARD", "READER_FIELD_MISSING_DEFAULT_VALUE", "page",
            "version 2");
    assertThat(call("GET", "/subjects/ev-value/versions", null).json().toString()).isEqualTo("[1,2]");

    // with the subject set to NONE the same schema goes in
    assertThat(call("PUT", "/config/ev-value", "{\"compatibility\":\"NONE\"}").json().get("compatibility").asText())
        .isEqualTo("NONE");
    assertThat(call("GET", "/config/ev-value", null).json().get("compatibilityLevel").asText()).isEqualTo("NONE");
    assertThat(call("POST", "/subjects/ev-value/versions", schemaBody(V3_NO_DEFAULT)).status()).isEqualTo(200);
  }

  @Test
  void configAndCompatibilityEndpoints() throws Exception {
    assertThat(call("GET", "/config", null).json().get("compatibilityLevel").asText()).isEqualTo("BACKWARD");
    Reply noSubjectLevel = call("GET", "/config/cfg-value", null);
    assertThat(noSubjectLevel.status()).isEqualTo(404);
    assertThat(noSubjectLevel.json().get("error_code").asInt()).isEqualTo(40408);
    assertThat(call("GET", "/config/cfg-value?defaultToGlobal=true", null).json().get("compatibilityLevel").asText())
        .isEqualTo("BACKWARD");
    Reply bad = call("PUT", "/config/cfg-value", "{\"compatibility\":\"SIDEWAYS\"}");
    assertThat(bad.status()).isEqualTo(422);
    assertThat(bad.json().get("error_code").asInt()).isEqualTo(42203);
    assertThat(bad.json().get("message").asText()).contains("SIDEWAYS", "FULL_TRANSITIVE");

    // against a subject with no versions anything is compatible
    assertThat(call("POST", "/compatibility/subjects/cfg-value/versions/latest", schemaBody(V1)).json()
        .get("is_compatible").asBoolean()).isTrue();
    call("POST", "/subjects/cfg-value/versions", schemaBody(V2));
    // FORWARD: the old reader (V2) must read data written with the new schema; dropping 'item'
    // (which V2 has with a default) is fine, adding a required field is fine for old readers
    call("PUT", "/config/cfg-value", "{\"compatibility\":\"FORWARD\"}");
    assertThat(call("POST", "/compatibility/subjects/cfg-value/versions", schemaBody(V3_NO_DEFAULT)).json()
        .get("is_compatible").asBoolean()).isTrue();
    call("PUT", "/config/cfg-value", "{\"compatibility\":\"FULL\"}");
    assertThat(call("POST", "/compatibility/subjects/cfg-value/versions/1", schemaBody(V3_NO_DEFAULT)).json()
        .get("is_compatible").asBoolean()).isFalse();
    assertThat(call("DELETE", "/config/cfg-value", null).json().get("compatibilityLevel").asText()).isEqualTo("FULL");
    assertThat(call("GET", "/config/cfg-value", null).status()).isEqualTo(404);
  }

  @Test
  void deleteSubjectKeepsIdsResolvable() throws Exception {
    int id = call("POST", "/subjects/del-value/versions", schemaBody(V1)).json().get("id").asInt();
    assertThat(call("DELETE", "/subjects/del-value", null).json().toString()).isEqualTo("[1]");
    assertThat(call("GET", "/subjects/del-value/versions", null).status()).isEqualTo(404);
    assertThat(call("GET", "/schemas/ids/" + id, null).status()).isEqualTo(200);
  }

  @Test
  void answersUnderTheCcompatPrefixToo() throws Exception {
    int id = call("POST", "/apis/ccompat/v7/subjects/cc-value/versions", schemaBody(V1)).json().get("id").asInt();
    assertThat(call("GET", "/apis/ccompat/v7/subjects/cc-value/versions/latest", null).json().get("id").asInt())
        .isEqualTo(id);
    assertThat(call("GET", "/apis/ccompat/v7/schemas/ids/" + id, null).status()).isEqualTo(200);
  }

  @Test
  void badRequestsGetConfluentErrorJson() throws Exception {
    Reply invalid = call("POST", "/subjects/bad-value/versions", schemaBody("{\"type\":\"recrod\"}"));
    assertThat(invalid.status()).isEqualTo(422);
    assertThat(invalid.json().get("error_code").asInt()).isEqualTo(42201);
    assertThat(invalid.json().get("message").asText()).contains("Invalid schema");

    Reply proto = call("POST", "/subjects/bad-value/versions",
        "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = \\\"proto3\\\";\"}");
    assertThat(proto.json().get("message").asText()).contains("only AVRO");

    Reply notJson = call("POST", "/subjects/bad-value/versions", "{oops");
    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.json().get("message").asText()).contains("not JSON");

    Reply unknown = call("GET", "/contexts/x", null);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("message").asText()).contains("/contexts/x");
  }

  @Test
  void basicAuthIsEnforcedWhenConfigured() throws Exception {
    try (EmbeddedSchemaRegistry secured = EmbeddedSchemaRegistry.start(0, "alice:s3cret")) {
      HttpResponse<String> anonymous = HTTP.send(HttpRequest.newBuilder(URI.create(secured.url() + "/subjects")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(anonymous.statusCode()).isEqualTo(401);
      assertThat(JSON.readTree(anonymous.body()).get("error_code").asInt()).isEqualTo(401);

      RegistryClient client = new RegistryClient(AvroSerdeConfig.of(secured.url()).withBasicAuth("alice:s3cret"));
      assertThat(client.subjects()).isEmpty();
      RegistryClient wrong = new RegistryClient(AvroSerdeConfig.of(secured.url()).withBasicAuth("alice:guess"));
      org.assertj.core.api.Assertions.assertThatThrownBy(wrong::subjects)
          .isInstanceOf(RegistryException.class).hasMessageContaining("401");
    }
  }
}
