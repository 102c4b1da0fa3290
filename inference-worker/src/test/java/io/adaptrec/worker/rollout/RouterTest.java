package io.adaptrec.worker.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutState;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterTest {

    static Rollout experiment(String id, int treatmentPercent, RolloutState state, long at) {
        return new Rollout(id, List.of(new RolloutArm(Router.CONTROL, "prod", 100 - treatmentPercent),
                new RolloutArm(Router.TREATMENT, "new", treatmentPercent)), state, "test", Instant.ofEpochMilli(at), null);
    }

    @Test
    void aUserSeesOneArmForTheWholeExperimentOnEveryRouter() {
        Router a = new Router("prod", experiment("exp-1", 10, RolloutState.RUNNING, 1));
        Router b = new Router("prod", experiment("exp-1", 10, RolloutState.RUNNING, 2));   // rebuilt later
        for (long u = 0; u < 5_000; u++) {
            assertThat(b.route(u)).isEqualTo(a.route(u));
        }
        assertThat(a.route(7).experimentId()).isEqualTo("exp-1");
    }

    @Test
    void sharesStayWithinTolerance() {
        for (int pct : new int[] {1, 10, 50, 90}) {
            Router r = new Router("prod", experiment("exp-" + pct, pct, RolloutState.RUNNING, 1));
            int n = 100_000;
            int treated = 0;
            for (long u = 1; u <= n; u++) {
                Router.Route route = r.route(u);
                if (route.arm().equals(Router.TREATMENT)) {
                    treated++;
                    assertThat(route.adapterVersion()).isEqualTo("new");
                } else {
                    assertThat(route.adapterVersion()).isEqualTo("prod");
                }
            }
            double p = pct / 100.0;
            double sd = Math.sqrt(p * (1 - p) / n);
            // 4 standard deviations of a binomial share: a fair hash fails this once in ~16 000 runs
            assertThat(treated / (double) n).as("share at %d %%", pct).isCloseTo(p, org.assertj.core.data.Offset.offset(4 * sd));
        }
    }

    @Test
    void experimentsAssignUsersIndependently() {
        Router one = new Router("prod", experiment("exp-a", 50, RolloutState.RUNNING, 1));
        Router two = new Router("prod", experiment("exp-b", 50, RolloutState.RUNNING, 1));
        int same = 0;
        int n = 20_000;
        for (long u = 0; u < n; u++) {
            if (one.route(u).arm().equals(two.route(u).arm())) {
                same++;
            }
        }
        assertThat(same / (double) n).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.03));
    }

    @Test
    void outsideARunningExperimentEveryoneGetsProduction() {
        for (Rollout r : new Rollout[] {null, experiment("exp-p", 50, RolloutState.PAUSED, 1)}) {
            Router router = new Router("prod", r);
            assertThat(router.route(42)).isEqualTo(new Router.Route(null, Router.CONTROL, "prod"));
        }
    }

    @Test
    void badSplitsAreRefused() {
        Rollout r = new Rollout("x", List.of(new RolloutArm(Router.CONTROL, "prod", 80),
                new RolloutArm(Router.TREATMENT, "new", 10)), RolloutState.RUNNING, "t", Instant.EPOCH, null);
        assertThatThrownBy(() -> new Router("prod", r)).hasMessageContaining("sums to 90 %");
    }

    @Test
    void productionFollowsTheLastEndedExperiment() {
        Experiments e = new Experiments("v1");
        assertThat(e.production()).isEqualTo("v1");
        e.apply("exp-1", experiment("exp-1", 10, RolloutState.RUNNING, 10));
        assertThat(e.active()).isPresent();
        assertThat(e.needed()).containsExactly("v1", "prod", "new");
        e.apply("exp-1", experiment("exp-1", 10, RolloutState.PROMOTED, 20));
        assertThat(e.production()).isEqualTo("new");
        assertThat(e.active()).isEmpty();
        Rollout next = new Rollout("exp-2", List.of(new RolloutArm(Router.CONTROL, "new", 90),
                new RolloutArm(Router.TREATMENT, "newer", 10)), RolloutState.ROLLED_BACK, "worse",
                Instant.ofEpochMilli(30), null);
        e.apply("exp-2", next);
        assertThat(e.production()).isEqualTo("new");
        assertThat(e.inAnyExperiment("newer")).isTrue();
    }
}
