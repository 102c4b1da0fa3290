package io.adaptrec.worker.adapters;

/**
 * The outcome of verifying one adapter: verified, or rejected with a machine-readable
 * {@link Reason} and a message a person can act on.
 *
 * @param version         the manifest's version
 * @param reason          why it was rejected; null when verified
 * @param message         "verified", or what failed and where
 * @param probeDifference mean absolute difference of the probe set's scores against the base
 *                        (the zero adapter); NaN when verification stopped before the probe
 */
public record Verification(String version, Reason reason, String message, double probeDifference) {

    /** Short codes for rejections, e.g. for a metric label or a dead-letter header. */
    public enum Reason {
        /** sha256 or size of the weights differs from the manifest. */
        CHECKSUM,
        /** Trained for another base model. */
        BASE_MODEL,
        /** LoRA rank or alpha differs from the base's configuration. */
        RANK,
        /** The weights are not a well-formed safetensors file (e.g. truncated). */
        DECODE,
        /** A tensor's name, shape or type does not fit the model's LoRA parameters. */
        SHAPE,
        /** A tensor holds NaN or an infinity. */
        NOT_FINITE,
        /** Probe scores are not finite, or no different from the base's (an identity adapter). */
        PROBE
    }

    public static Verification verified(String version, double probeDifference) {
        return new Verification(version, null, "verified", probeDifference);
    }

    public static Verification rejected(String version, Reason reason, String message) {
        return new Verification(version, reason, message, Double.NaN);
    }

    public boolean verified() {
        return reason == null;
    }

    @Override
    public String toString() {
        return verified() ? "adapter " + version + " verified (probe difference " + probeDifference + ")"
                : "adapter " + version + " rejected (" + reason + "): " + message;
    }
}
