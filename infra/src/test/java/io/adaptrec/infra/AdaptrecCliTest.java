package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command tree without starting anything: help, version and argument errors of every command. */
class AdaptrecCliTest {

  /** Output and exit code of one CLI run. */
  record Run(int exitCode, String out, String err) {}

  static Run run(String... args) {
    CommandLine cli = AdaptrecCli.build();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** Every command path in the tree, e.g. [], [up], [bench, pools]. */
  static List<List<String>> commandPaths(CommandLine cmd, List<String> prefix) {
    List<List<String>> paths = new ArrayList<>();
    paths.add(prefix);
    for (Map.Entry<String, CommandLine> sub : cmd.getSubcommands().entrySet()) {
      List<String> p = new ArrayList<>(prefix);
      p.add(sub.getKey());
      paths.addAll(commandPaths(sub.getValue(), p));
    }
    return paths;
  }

  @Test
  void treeHoldsInfraAndRoleCommands() {
    List<List<String>> paths = commandPaths(AdaptrecCli.build(), List.of());
    assertThat(paths).contains(List.of("up"), List.of("replay"), List.of("demo"), List.of("topics"), List.of("bench"),
        List.of("bench", "streams"), List.of("bench", "pools"), List.of("train"), List.of("eval"));
  }

  @Test
  void helpWorksForEveryCommand() {
    for (List<String> path : commandPaths(AdaptrecCli.build(), List.of())) {
      List<String> args = new ArrayList<>(path);
      args.add("--help");
      Run r = run(args.toArray(String[]::new));
      assertThat(r.exitCode()).as("exit code of %s", args).isZero();
      assertThat(r.out()).as("help of %s", args).startsWith("Usage: adaptrec" + (path.isEmpty() ? "" : " " + String.join(" ", path)));
    }
  }

  @Test
  void versionWorksForEveryCommand() {
    for (List<String> path : commandPaths(AdaptrecCli.build(), List.of())) {
      List<String> args = new ArrayList<>(path);
      args.add("--version");
      Run r = run(args.toArray(String[]::new));
      assertThat(r.exitCode()).as("exit code of %s", args).isZero();
      assertThat(r.out()).as("version of %s", args).startsWith("adaptrec " + VersionInfo.projectVersion())
          .contains("Kafka clients/Streams/broker 4.2").contains("Flink 2.2");
    }
    assertThat(VersionInfo.projectVersion()).doesNotContain("${").doesNotContain("unknown");
  }

  @Test
  void noCommandPrintsUsageAndFails() {
    Run r = run();
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("name a command").contains("replay");
  }

  @Test
  void invalidArgumentsNameTheOptionAndExit2() {
    Run kind = run("replay", "--dataset", "netflix");
    assertThat(kind.exitCode()).isEqualTo(2);
    assertThat(kind.err()).contains("--dataset").contains("netflix").contains("movielens, generic, synthetic");

    Run both = run("replay", "--dataset", "synthetic", "--embedded", "--bootstrap", "127.0.0.1:1");
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err()).contains("--embedded").contains("drop --bootstrap");

    Run generic = run("replay", "--dataset", "generic", "--embedded");
    assertThat(generic.exitCode()).isEqualTo(2);
    assertThat(generic.err()).contains("--data-dir is required for --dataset generic");

    Run speed = run("replay", "--dataset", "synthetic", "--embedded", "--speedup", "-3");
    assertThat(speed.exitCode()).isEqualTo(2);
    assertThat(speed.err()).contains("--speedup");

    Run parallelism = run("up", "--flink-parallelism", "0");
    assertThat(parallelism.exitCode()).isEqualTo(2);
    assertThat(parallelism.err()).contains("--flink-parallelism must be 1-64, got 0");

    Run role = run("demo", "--roles", "streams,trainer");
    assertThat(role.exitCode()).isEqualTo(2);
    assertThat(role.err()).contains("unknown role 'trainer'");

    Run duration = run("demo", "--dataset", "synthetic", "--duration", "1");
    assertThat(duration.exitCode()).isEqualTo(2);
    assertThat(duration.err()).contains("--duration must be at least 5 seconds");

    Run set = run("demo", "--dataset", "synthetic", "--set", "kafka.acks=0");
    assertThat(set.exitCode()).isEqualTo(2);
    assertThat(set.err()).contains("--set kafka.acks");
  }

  @Test
  void replayWithoutAReachableClusterSaysHowToStartOne() {
    int closedPort = freeThenClosedPort();
    Run r = run("replay", "--dataset", "synthetic", "--bootstrap", "127.0.0.1:" + closedPort);
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("no Kafka cluster answers at 127.0.0.1:" + closedPort)
        .contains("./adaptrec up").contains("--embedded");
  }

  @Test
  void missingMovieLensDirectoryIsNamed() {
    Run r = run("replay", "--dataset", "movielens", "--data-dir", "/nonexistent/ml-100k", "--embedded");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("dataset directory /nonexistent/ml-100k does not exist");
  }

  static int freeThenClosedPort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
