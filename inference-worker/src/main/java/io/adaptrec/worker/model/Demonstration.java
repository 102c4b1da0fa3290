package io.adaptrec.worker.model;

/**
 * One in-context demonstration (AdaptRec stage 3): similar user {@code userId} watched
 * {@code watched} (oldest first) and then chose {@code choice}.
 */
public record Demonstration(long userId, long[] watched, long choice) {}
