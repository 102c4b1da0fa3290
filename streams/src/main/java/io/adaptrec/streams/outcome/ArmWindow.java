package io.adaptrec.streams.outcome;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.schemas.LatencyHistogram;
import java.time.Instant;

/** The running aggregate of one arm over one metrics window (mutable; one owner: its aggregator task). */
final class ArmWindow {
    final String experimentId;
    final String arm;
    String adapterVersion;
    final long windowStart;
    final long windowEnd;
    long served;
    long errors;
    long outcomes;
    long hitsAt1;
    long hitsAt5;
    double ndcgSum;
    long latencyMicrosSum;
    long lateOutcomes;
    long missingOutcomes;
    final LatencyHistogram latency;

    ArmWindow(String experimentId, String arm, String adapterVersion, long windowStart, long windowEnd,
              LatencyHistogram latency) {
        this.experimentId = experimentId;
        this.arm = arm;
        this.adapterVersion = adapterVersion;
        this.windowStart = windowStart;
        this.windowEnd = windowEnd;
        this.latency = latency;
    }

    static ArmWindow empty(Delta.Arm arm, long windowMs) {
        return new ArmWindow(arm.experimentId(), arm.arm(), arm.adapterVersion(), arm.windowStart(),
                arm.windowStart() + windowMs, new LatencyHistogram());
    }

    void add(Delta d) {
        // an arm's adapter may change within a window (a hot swap); the record names the latest
        adapterVersion = d.arm().adapterVersion();
        served += d.served();
        errors += d.errors();
        outcomes += d.outcomes();
        hitsAt1 += d.hitsAt1();
        hitsAt5 += d.hitsAt5();
        ndcgSum += d.ndcg();
        if (d.latencyMicros() >= 0) {
            latencyMicrosSum += d.latencyMicros();
            latency.record(d.latencyMicros());
        }
        lateOutcomes += d.late();
        missingOutcomes += d.missing();
    }

    ArmMetrics toAvro(long now) {
        return ArmMetrics.newBuilder()
                .setExperimentId(experimentId).setArm(arm).setAdapterVersion(adapterVersion)
                .setWindowStart(Instant.ofEpochMilli(windowStart)).setWindowEnd(Instant.ofEpochMilli(windowEnd))
                .setServed(served).setErrors(errors).setOutcomes(outcomes)
                .setHitsAt1(hitsAt1).setHitsAt5(hitsAt5).setNdcgSum(ndcgSum)
                .setLatencyMicrosSum(latencyMicrosSum)
                .setLatencyBoundsMicros(latency.boundsList()).setLatencyCounts(latency.countsList())
                .setLateOutcomes(lateOutcomes).setMissingOutcomes(missingOutcomes)
                .setUpdatedAt(Instant.ofEpochMilli(now))
                .build();
    }
}
