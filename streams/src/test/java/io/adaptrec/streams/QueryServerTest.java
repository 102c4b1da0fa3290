package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QueryServerTest {
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void answersEachLookupKindWithItsStatus() throws Exception {
        UserHistory seven = UserHistory.empty(7).insert(new UserHistory.Entry(3, 1000, 4f), 5, 0).history()
                .withEmbedding("m1", new SequenceEmbedding.Result(new float[] {0.6f, 0.8f}, 1, 0), 5);
        try (QueryServer q = new QueryServer("127.0.0.1", 0, id -> switch ((int) id) {
            case 7 -> QueryServer.Lookup.found(seven);
            case 8 -> QueryServer.Lookup.elsewhere("10.0.0.2:7071");
            case 9 -> QueryServer.Lookup.unavailable("REBALANCING");
            default -> QueryServer.Lookup.notFound();
        }, () -> Map.of("interactions", 12L), () -> null, () -> "user-state REBALANCING")) {
            HttpResponse<String> ok = get(q.port(), "/users/7");
            assertThat(ok.statusCode()).isEqualTo(200);
            JsonNode json = new ObjectMapper().readTree(ok.body());
            assertThat(json.get("history").get(0).get("itemId").asLong()).isEqualTo(3);
            assertThat(json.get("history").get(0).get("rating").floatValue()).isEqualTo(4f);
            assertThat(json.get("embeddingVersion").asText()).isEqualTo("m1");
            assertThat(json.get("embedding").get(1).floatValue()).isEqualTo(0.8f);

            HttpResponse<String> moved = get(q.port(), "/users/8");
            assertThat(moved.statusCode()).isEqualTo(307);
            assertThat(moved.headers().firstValue("Location")).contains("http://10.0.0.2:7071/users/8");
            assertThat(get(q.port(), "/users/9").statusCode()).isEqualTo(503);
            assertThat(get(q.port(), "/users/10").statusCode()).isEqualTo(404);
            assertThat(get(q.port(), "/users/abc").body()).contains("user id must be a long");
            assertThat(get(q.port(), "/metrics").body()).contains("\"interactions\":12");
            assertThat(get(q.port(), "/health/live").statusCode()).isEqualTo(200);
            HttpResponse<String> notReady = get(q.port(), "/health/ready");
            assertThat(notReady.statusCode()).isEqualTo(503);
            assertThat(notReady.body()).contains("user-state REBALANCING");
        }
    }
}
