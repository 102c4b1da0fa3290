package io.adaptrec.worker.eval;

import java.util.Locale;

/** Which held-out cases to evaluate on: validation (for tuning) or test (for reporting). */
public enum Stage {
    VALIDATION, TEST;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
