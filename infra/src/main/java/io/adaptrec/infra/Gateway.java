package io.adaptrec.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.avro.SelectedDemonstration;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.Topics;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP gateway role: {@code POST /recommendations} with a JSON body
 * {@code {"userId": 42, "k": 10, "candidates": [1, 2, 3] (optional), "asOf": epochMillis (optional)}}
 * sends a {@code rec-request} through {@link RecClient} and answers with the worker's response as
 * JSON ({@link #json}). 400 for a body that cannot be read, 504 when no response arrives within
 * the timeout; the worker's own statuses (INVALID_REQUEST, TIMEOUT, ...) come back as 200 with
 * their {@code status} and {@code error}, exactly as on the topic. Built on the JDK HTTP server
 * (one route; the streams role's query endpoint does the same).
 */
public final class Gateway implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final RecClient client;
  private final HttpServer server;
  private final Duration timeout;

  public Gateway(Topics topics, Properties clientProps, String host, int port, Duration timeout) throws IOException {
    this.client = new RecClient(topics, clientProps);
    this.timeout = timeout;
    this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
    server.setExecutor(Executors.newFixedThreadPool(8, r -> {
      Thread t = new Thread(r, "gateway-http");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/recommendations", this::handle);
    server.createContext("/health", ex -> send(ex, 200, Map.of("status", "up")));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange ex) throws IOException {
    if (!"POST".equals(ex.getRequestMethod())) {
      send(ex, 405, Map.of("error", "use POST with a JSON body {\"userId\": ..., \"k\": ...}"));
      return;
    }
    RecommendationRequest req;
    try {
      JsonNode body = JSON.readTree(ex.getRequestBody());
      if (body == null || !body.hasNonNull("userId") || !body.get("userId").canConvertToLong()) {
        throw new IllegalArgumentException("body needs a numeric \"userId\"");
      }
      List<Long> candidates = null;
      if (body.hasNonNull("candidates")) {
        candidates = new ArrayList<>();
        for (JsonNode c : body.get("candidates")) {
          if (!c.canConvertToLong()) {
            throw new IllegalArgumentException("candidates must be item ids, got " + c);
          }
          candidates.add(c.asLong());
        }
      }
      req = RecommendationRequest.newBuilder().setRequestId(RecClient.newRequestId())
          .setUserId(body.get("userId").asLong()).setK(body.path("k").asInt(10)).setCandidates(candidates)
          .setRequestedAt(Instant.now())
          .setAsOf(body.hasNonNull("asOf") ? Instant.ofEpochMilli(body.get("asOf").asLong()) : null).build();
    } catch (IOException | IllegalArgumentException e) {
      send(ex, 400, Map.of("error", "cannot read the request body: " + e.getMessage()));
      return;
    }
    try {
      RecommendationResponse resp = client.send(req).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      send(ex, 200, json(resp));
    } catch (TimeoutException e) {
      send(ex, 504, Map.of("error", "no response within " + timeout.toMillis() + " ms", "requestId", req.getRequestId()));
    } catch (ExecutionException e) {
      send(ex, 502, Map.of("error", "could not send the request: " + e.getCause()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      send(ex, 503, Map.of("error", "interrupted"));
    }
  }

  /** A response as plain JSON-able maps and lists, fields in schema order. */
  public static Map<String, Object> json(RecommendationResponse r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("requestId", r.getRequestId());
    m.put("userId", r.getUserId());
    m.put("status", r.getStatus().name());
    m.put("path", r.getPath());
    List<Map<String, Object>> items = new ArrayList<>();
    for (ScoredItem s : r.getItems()) {
      Map<String, Object> item = new LinkedHashMap<>();
      item.put("itemId", s.getItemId());
      item.put("score", s.getScore());
      items.add(item);
    }
    m.put("items", items);
    List<Map<String, Object>> demos = new ArrayList<>();
    for (SelectedDemonstration d : r.getSelected()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("userId", d.getUserId());
      x.put("selectionScore", d.getSelectionScore());
      x.put("similarity", d.getSimilarity());
      x.put("watched", d.getWatched());
      x.put("choice", d.getChoice());
      demos.add(x);
    }
    m.put("demonstrations", demos);
    m.put("adapterVersion", r.getAdapterVersion());
    m.put("arm", r.getArm());
    m.put("experimentId", r.getExperimentId());
    m.put("poolEmbeddingVersion", r.getPoolEmbeddingVersion());
    m.put("poolVersion", r.getPoolVersion());
    m.put("candidatesGenerated", r.getCandidatesGenerated());
    m.put("latencyMicros", r.getLatencyMicros());
    m.put("error", r.getError());
    return m;
  }

  private static void send(HttpExchange ex, int status, Object body) throws IOException {
    byte[] b = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    client.close();
  }
}
