package io.adaptrec.infra.dashboard;

import java.util.List;
import java.util.Map;

/**
 * What an in-process inference worker reports to the dashboard (in the local stack), next to what
 * the topics say: the adapters it holds and routes to, the ones it refused, and its own lag.
 *
 * @param instanceId   the worker's {@code serving.instance.id}
 * @param production   the adapter its router gives users outside an experiment
 * @param experimentId the experiment its router splits traffic for, or null
 * @param loaded       adapter versions loaded over the base (the in-place one first)
 * @param rejected     adapters it refused at verification, by version, with the reason
 * @param mirrorLag    user-state / user-pools / interactions / items records not yet mirrored (-1: not started)
 * @param answered     requests answered since it started
 * @param notReady     why it is not serving, or null when it is
 */
public record WorkerView(String instanceId, String production, String experimentId, List<String> loaded,
    Map<String, String> rejected, long mirrorLag, long answered, String notReady) {

  public WorkerView {
    loaded = List.copyOf(loaded);
    rejected = Map.copyOf(rejected);
  }
}
