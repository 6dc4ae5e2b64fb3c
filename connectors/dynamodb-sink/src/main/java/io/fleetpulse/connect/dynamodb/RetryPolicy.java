package io.fleetpulse.connect.dynamodb;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * Exponential backoff with full jitter (a uniformly random wait in [0, min(cap, base * 2^attempt)]), bounded by a
 * total time per batch. Full jitter spreads the retries of concurrent batches apart, so throttled writers do not
 * come back in lockstep and get throttled again.
 */
final class RetryPolicy {

    /** Sleeps between retries; replaced in tests. */
    interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private final long baseMs;
    private final long capMs;
    private final long timeoutMs;
    private final Sleeper sleeper;
    private final LongSupplier clockMs;
    private final LongUnaryOperator jitter;

    /**
     * @param jitter maps the exponential bound to the actual wait; {@link #fullJitter} in production
     */
    RetryPolicy(long baseMs, long capMs, long timeoutMs, Sleeper sleeper, LongSupplier clockMs,
            LongUnaryOperator jitter) {
        this.baseMs = baseMs;
        this.capMs = Math.max(capMs, baseMs);
        this.timeoutMs = timeoutMs;
        this.sleeper = sleeper;
        this.clockMs = clockMs;
        this.jitter = jitter;
    }

    static RetryPolicy of(DynamoDbSinkConfig config) {
        return new RetryPolicy(config.retryBackoffMs(), config.retryBackoffMaxMs(), config.retryTimeoutMs(),
                Thread::sleep, System::currentTimeMillis, RetryPolicy::fullJitter);
    }

    /** A uniformly random wait in [0, bound]. */
    static long fullJitter(long bound) {
        return ThreadLocalRandom.current().nextLong(bound + 1);
    }

    /** The upper bound of the wait before the 0-based retry number: base * 2^retry, capped. */
    long bound(int retry) {
        int shift = Math.min(Math.max(retry, 0), 30);
        return Math.min(capMs, baseMs << shift);
    }

    long timeoutMs() {
        return timeoutMs;
    }

    /** One batch's retry budget, started now. */
    Attempts start() {
        return new Attempts(clockMs.getAsLong());
    }

    /** The retries of one batch: each {@link #await} waits the next backoff, or says the budget is spent. */
    final class Attempts {
        private final long startedMs;
        private int retries;

        private Attempts(long startedMs) {
            this.startedMs = startedMs;
        }

        int retries() {
            return retries;
        }

        long elapsedMs() {
            return clockMs.getAsLong() - startedMs;
        }

        /**
         * Waits before the next retry.
         *
         * @return false when the wait would end past the batch's total retry time (nothing was waited)
         */
        boolean await() throws InterruptedException {
            long delay = jitter.applyAsLong(bound(retries));
            if (elapsedMs() + delay > timeoutMs) {
                return false;
            }
            retries++;
            sleeper.sleep(delay);
            return true;
        }
    }
}
