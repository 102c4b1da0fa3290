package io.adaptrec.worker.eval;

import java.util.Locale;

/** The offline evaluation protocols of ARCHITECTURE.md section 7. */
public enum Protocol {
    /**
     * LLaRA's (and the AdaptRec paper's): users ordered by first interaction, 80/10/10 into
     * train/validation/test users; a held-out user's last item is the target.
     */
    LLARA,
    /** Leave-one-out over every user: last item tests, second-last validates, the rest trains. */
    LOO;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Protocol parse(String text) {
        for (Protocol p : values()) {
            if (p.cliName().equalsIgnoreCase(text.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown protocol '" + text + "'; expected llara or loo");
    }
}
