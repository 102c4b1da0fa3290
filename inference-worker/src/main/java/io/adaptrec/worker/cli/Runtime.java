package io.adaptrec.worker.cli;

/** Process-wide DJL settings; must run before the PyTorch engine loads. */
final class Runtime {

    private Runtime() {}

    static void configureDjl() {
        // never try to download natives or call home (notes/djl-probe.md section 1)
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        // two intra-op threads: the team's machines have two cores (override with -D)
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "2"));
    }
}
