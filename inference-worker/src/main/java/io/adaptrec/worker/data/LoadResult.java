package io.adaptrec.worker.data;

/** A loaded dataset together with the report of how it was loaded. */
public record LoadResult(Dataset dataset, LoadReport report) {}
