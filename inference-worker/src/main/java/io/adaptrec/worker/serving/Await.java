package io.adaptrec.worker.serving;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting for a background reader (state mirror, control feed) to catch up, failing fast when it died. */
public final class Await {

    private Await() {}

    /**
     * Polls {@code done} every 20 ms until it holds or {@code timeout} passes.
     *
     * @param failure the reader's failure, or null while it runs
     * @return {@code done} at the end
     * @throws IllegalStateException as soon as {@code failure} is not null, naming {@code what}
     */
    public static boolean until(BooleanSupplier done, Supplier<Throwable> failure, Duration timeout, String what)
            throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < until) {
            Throwable f = failure.get();
            if (f != null) {
                throw new IllegalStateException(what + " failed", f);
            }
            Thread.sleep(20);
        }
        return done.getAsBoolean();
    }
}
