package io.fleetpulse.connect.dynamodb;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when the code under test sleeps, so retry-time limits are tested without waiting. */
final class FakeTime implements RetryPolicy.Sleeper {

    final AtomicLong nowMs = new AtomicLong(1_000_000);
    final List<Long> sleeps = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void sleep(long millis) {
        sleeps.add(millis);
        nowMs.addAndGet(millis);
    }

    long now() {
        return nowMs.get();
    }

    /** A policy whose waits are the exponential bound itself (no jitter), so tests can name each wait. */
    RetryPolicy policy(long baseMs, long capMs, long timeoutMs) {
        return new RetryPolicy(baseMs, capMs, timeoutMs, this, this::now, bound -> bound);
    }
}
