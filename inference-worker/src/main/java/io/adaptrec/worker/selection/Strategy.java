package io.adaptrec.worker.selection;

import java.util.Locale;

/** How the M demonstrations are picked from the Top-N similar-user pool (AdaptRec stage 2). */
public enum Strategy {
    /** AdaptRec: the language model ranks pool members by the likelihood gain they give. */
    ADAPTIVE,
    /** Top-M of the pool by cosine similarity of sequence embeddings. */
    SIMILARITY,
    /** M pool members at random (the paper's "static selection" ablation). */
    STATIC,
    /** No demonstrations. */
    NONE;

    public static Strategy parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown selection strategy '" + s
                    + "'; allowed: adaptive, similarity, static, none");
        }
    }
}
