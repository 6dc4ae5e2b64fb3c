package io.fleetpulse.connect.dynamodb;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * Writes items with BatchWriteItem, up to {@code maxInFlight} batches at a time, and returns only when every
 * batch has finished: so the caller's offsets never run ahead of what is in DynamoDB.
 *
 * <p>The caller passes each key at most once, so no two concurrent batches hold the same key and one key's
 * writes cannot overtake each other. Throttling, 5xx, an unreachable endpoint and UnprocessedItems are retried
 * with exponential backoff and full jitter for at most the retry time; past it the write fails with a
 * {@link ConnectException}, which fails the task (nothing is dropped: its offsets were not committed). Items
 * DynamoDB rejects as invalid are isolated (one PutItem each) and returned to the caller as rejected.
 */
final class DynamoDbWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DynamoDbWriter.class);

    /** Error codes that mean "try again later" even when the SDK does not flag them as throttling or 5xx. */
    private static final Set<String> RETRIABLE_CODES = Set.of(
            "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException",
            "LimitExceededException", "ResourceNotFoundException", "InternalServerError", "ServiceUnavailable",
            "ExpiredTokenException", "RequestTimeout", "RequestTimeoutException");

    /** One item to write and the record it came from. */
    record PendingWrite(SinkRecord record, Map<String, AttributeValue> item) {
    }

    /** A record whose item DynamoDB refused as invalid. */
    record Rejected(SinkRecord record, String reason) {
    }

    private final DynamoDbClient client;
    private final String table;
    private final int batchSize;
    private final RetryPolicy retry;
    private final ExecutorService pool;
    private final AtomicLong retries = new AtomicLong();

    DynamoDbWriter(DynamoDbClient client, String table, int batchSize, int maxInFlight, RetryPolicy retry) {
        this.client = client;
        this.table = table;
        this.batchSize = batchSize;
        this.retry = retry;
        this.pool = maxInFlight > 1 ? Executors.newFixedThreadPool(maxInFlight, threads(table)) : null;
    }

    private static ThreadFactory threads(String table) {
        AtomicInteger n = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, "dynamodb-writer-" + table + "-" + n.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** Retries (throttling, 5xx, UnprocessedItems, unreachable) since the writer started. */
    long retries() {
        return retries.get();
    }

    /**
     * Writes every item; keys must be unique within {@code writes}.
     *
     * @return the writes DynamoDB rejected as invalid; everything else was written
     * @throws ConnectException when a batch could not be written within the retry time, or was refused for good
     *                          (e.g. access denied); batches already started have finished when it is thrown
     */
    List<Rejected> write(List<PendingWrite> writes) {
        List<List<PendingWrite>> chunks = new ArrayList<>();
        for (int from = 0; from < writes.size(); from += batchSize) {
            chunks.add(writes.subList(from, Math.min(from + batchSize, writes.size())));
        }
        AtomicBoolean failed = new AtomicBoolean();
        if (pool == null || chunks.size() == 1) {
            List<Rejected> rejected = new ArrayList<>();
            chunks.forEach(chunk -> rejected.addAll(writeChunk(chunk, failed)));
            return rejected;
        }
        List<Future<List<Rejected>>> futures = new ArrayList<>(chunks.size());
        for (List<PendingWrite> chunk : chunks) {
            futures.add(pool.submit(() -> writeChunk(chunk, failed)));
        }
        return collect(futures, failed);
    }

    /** Waits for every batch (never returns while one is still writing), then reports the first failure. */
    private static List<Rejected> collect(List<Future<List<Rejected>>> futures, AtomicBoolean failed) {
        List<Rejected> rejected = new ArrayList<>();
        ConnectException failure = null;
        boolean interrupted = false;
        for (Future<List<Rejected>> future : futures) {
            while (true) {
                try {
                    rejected.addAll(future.get());
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // keep waiting: a batch still writing must not outlive this call
                    failed.set(true);
                } catch (ExecutionException e) {
                    failed.set(true);
                    if (failure == null) {
                        failure = e.getCause() instanceof ConnectException ce ? ce
                                : new ConnectException("DynamoDB write failed: " + e.getCause(), e.getCause());
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new ConnectException("interrupted while writing to DynamoDB", failure);
        }
        if (failure != null) {
            throw failure;
        }
        return rejected;
    }

    private List<Rejected> writeChunk(List<PendingWrite> chunk, AtomicBoolean failed) {
        if (failed.get()) {
            return List.of(); // another batch already failed the write; the task fails and nothing is committed
        }
        List<WriteRequest> requests = new ArrayList<>(chunk.size());
        for (PendingWrite w : chunk) {
            requests.add(WriteRequest.builder().putRequest(PutRequest.builder().item(w.item()).build()).build());
        }
        RetryPolicy.Attempts attempts = retry.start();
        while (true) {
            BatchWriteItemResponse response;
            try {
                List<WriteRequest> batch = requests;
                response = client.batchWriteItem(b -> b.requestItems(Map.of(table, batch)));
            } catch (SdkException e) {
                if (isValidationError(e)) {
                    log.warn("DynamoDB rejected a batch of {} items as invalid ({}); writing them one by one to"
                            + " isolate the bad ones", requests.size(), errorMessage(e));
                    return writeIndividually(chunk, failed);
                }
                awaitRetry(attempts, failed, requests.size(), transientOrThrow(e));
                continue;
            }
            List<WriteRequest> unprocessed = response.hasUnprocessedItems()
                    ? response.unprocessedItems().getOrDefault(table, List.of()) : List.of();
            if (unprocessed.isEmpty()) {
                return List.of();
            }
            awaitRetry(attempts, failed, unprocessed.size(), "UnprocessedItems (" + unprocessed.size() + " of "
                    + requests.size() + ")");
            requests = unprocessed;
        }
    }

    private List<Rejected> writeIndividually(List<PendingWrite> chunk, AtomicBoolean failed) {
        List<Rejected> rejected = new ArrayList<>();
        for (PendingWrite w : chunk) {
            RetryPolicy.Attempts attempts = retry.start();
            while (true) {
                try {
                    client.putItem(b -> b.tableName(table).item(w.item()));
                    break;
                } catch (SdkException e) {
                    if (isValidationError(e)) {
                        rejected.add(new Rejected(w.record(), "DynamoDB rejected the item: " + errorMessage(e)));
                        break;
                    }
                    awaitRetry(attempts, failed, 1, transientOrThrow(e));
                }
            }
        }
        return rejected;
    }

    /** Waits out the next backoff, or fails the write when the retry time is spent or another batch failed. */
    private void awaitRetry(RetryPolicy.Attempts attempts, AtomicBoolean failed, int items, String reason) {
        if (failed.get()) {
            throw new ConnectException("Abandoned " + items + " items for DynamoDB table " + table
                    + " after another batch failed; last error: " + reason);
        }
        boolean waited;
        try {
            waited = attempts.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectException("interrupted while waiting to retry a DynamoDB write", e);
        }
        if (!waited) {
            throw new ConnectException("Gave up writing " + items + " items to DynamoDB table " + table + " after "
                    + attempts.retries() + " retries in " + attempts.elapsedMs() + " ms (retry time "
                    + retry.timeoutMs() + " ms); last error: " + reason
                    + ". The task fails; its offsets were not committed, so a restart rewrites these records.");
        }
        retries.incrementAndGet();
        log.debug("Retry {} of a batch of {} items for {}: {}", attempts.retries(), items, table, reason);
    }

    private static boolean isValidationError(SdkException e) {
        return e instanceof AwsServiceException ase && ase.statusCode() == 400
                && "ValidationException".equals(errorCode(ase));
    }

    /** The failure's description when it is worth retrying; otherwise throws it as a permanent failure. */
    static String transientOrThrow(SdkException e) {
        if (e instanceof SdkClientException) {
            // No usable response: endpoint unreachable, timeouts, credentials temporarily unavailable.
            return "DynamoDB unavailable: " + e.getMessage();
        }
        if (e instanceof AwsServiceException ase) {
            String code = errorCode(ase);
            if (ase.isThrottlingException() || ase.statusCode() >= 500 || ase.retryable()
                    || (code != null && RETRIABLE_CODES.contains(code))) {
                return "DynamoDB transient error " + code + " (HTTP " + ase.statusCode() + "): " + errorMessage(ase);
            }
            throw new ConnectException("DynamoDB rejected the write with " + code + " (HTTP " + ase.statusCode()
                    + "): " + errorMessage(ase), e);
        }
        return "DynamoDB call failed: " + e.getMessage();
    }

    private static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static String errorMessage(SdkException e) {
        if (e instanceof AwsServiceException ase && ase.awsErrorDetails() != null
                && ase.awsErrorDetails().errorMessage() != null) {
            return ase.awsErrorDetails().errorMessage();
        }
        return e.getMessage();
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
        client.close();
    }
}
