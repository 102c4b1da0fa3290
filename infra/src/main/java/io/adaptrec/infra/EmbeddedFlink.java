package io.adaptrec.infra;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.util.SerializedThrowable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Flink MiniCluster in this JVM with a REST endpoint on 127.0.0.1, to which jobs are submitted
 * as job graphs. Started explicitly (rather than letting each {@code env.execute()} spin up its
 * own) so that several jobs share one cluster and {@code flink run -m 127.0.0.1:<port>} or the
 * REST API can reach it while the stack is up.
 */
final class EmbeddedFlink implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedFlink.class);

  private final MiniCluster cluster;
  private final URI restAddress;
  private final int slots;
  private final List<JobID> jobs = new ArrayList<>();

  private EmbeddedFlink(MiniCluster cluster, URI restAddress, int slots) {
    this.cluster = cluster;
    this.restAddress = restAddress;
    this.slots = slots;
  }

  /**
   * @param restPort 0 = any free port
   * @param slots task slots of the single TaskManager
   * @param tmpDir Flink's io.tmp.dirs (spill files, blob cache)
   */
  static EmbeddedFlink start(int restPort, int slots, Path tmpDir) throws Exception {
    Configuration conf = new Configuration();
    conf.set(RestOptions.BIND_ADDRESS, Ports.HOST);
    conf.set(RestOptions.ADDRESS, Ports.HOST);
    conf.set(RestOptions.BIND_PORT, Integer.toString(restPort));
    conf.set(TaskManagerOptions.NUM_TASK_SLOTS, slots);
    conf.set(CoreOptions.TMP_DIRS, tmpDir.toString());
    MiniClusterConfiguration mc = new MiniClusterConfiguration.Builder()
        .setConfiguration(conf)
        .setNumTaskManagers(1)
        .setNumSlotsPerTaskManager(slots)
        .build();
    MiniCluster cluster = new MiniCluster(mc);
    try {
      cluster.start();
      URI rest = cluster.getRestAddress().get(30, TimeUnit.SECONDS);
      LOG.info("Flink MiniCluster started: {} slots, REST {}", slots, rest);
      return new EmbeddedFlink(cluster, rest, slots);
    } catch (Exception e) {
      cluster.closeAsync().get(30, TimeUnit.SECONDS);
      throw e;
    }
  }

  URI restAddress() {
    return restAddress;
  }

  int slots() {
    return slots;
  }

  /**
   * Submits what was added to {@code env} as one job and waits until it is RUNNING.
   *
   * @throws IllegalStateException naming the job and Flink's own failure when it does not start
   */
  JobID submit(StreamExecutionEnvironment env, String jobName, Duration timeout) throws Exception {
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName(jobName);
    // the job's classes are on this JVM's classpath, so the graph needs no user jars
    JobGraph jobGraph = graph.getJobGraph();
    JobID id = cluster.submitJob(jobGraph).get(timeout.toMillis(), TimeUnit.MILLISECONDS).getJobID();
    jobs.add(id);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JobStatus status = cluster.getJobStatus(id).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (status == JobStatus.RUNNING) {
        LOG.info("Flink job '{}' ({}) is running", jobName, id);
        return id;
      }
      if (status.isGloballyTerminalState()) {
        throw new IllegalStateException("Flink job '" + jobName + "' ended as " + status + " right after submission: "
            + failureOf(id));
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("Flink job '" + jobName + "' not RUNNING after " + timeout + " (status " + status + ")");
      }
      Thread.sleep(100);
    }
  }

  /** Current status of a job submitted here. */
  JobStatus status(JobID id) throws ExecutionException, InterruptedException {
    return cluster.getJobStatus(id).get();
  }

  /** Flink's failure message of a terminated job, or a note when it did not fail. */
  String failureOf(JobID id) {
    try {
      JobResult result = cluster.requestJobResult(id).get(10, TimeUnit.SECONDS);
      return result.getSerializedThrowable().map(SerializedThrowable::getFullStringifiedStackTrace)
          .orElse("no failure recorded (" + result.getApplicationStatus() + ")");
    } catch (Exception e) {
      return "failure unknown (" + e + ")";
    }
  }

  /**
   * Cancels a job if it still runs and waits until it has stopped, so its Kafka sink aborts its
   * open transaction while the broker is still there.
   */
  void cancel(JobID id) throws Exception {
    JobStatus status = cluster.getJobStatus(id).get(10, TimeUnit.SECONDS);
    if (!status.isGloballyTerminalState()) {
      cluster.cancelJob(id).get(30, TimeUnit.SECONDS);
      cluster.requestJobResult(id).get(60, TimeUnit.SECONDS);
    }
  }

  /** Cancels every job submitted here that still runs, then stops the cluster. */
  @Override
  public void close() throws Exception {
    try {
      for (JobID id : jobs) {
        cancel(id);
      }
    } finally {
      cluster.closeAsync().get(60, TimeUnit.SECONDS);
    }
  }
}
