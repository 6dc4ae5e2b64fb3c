import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * The server's own BatchWriteItem ceiling: concurrent calls of 25 score-sized items each, with the same SDK and
 * HTTP client as the sink but no Kafka and no Connect. After a warm-up (the JIT compiles the SDK's hot paths;
 * until then the client, not the server, is the bound), writes ITEMS fresh items once per in-flight count and
 * prints "threads items seconds" for each.
 *
 * <p>Run as a single-file program: java -cp 'plugin/*:slf4j-api.jar' BatchWriteCeiling.java endpoint table
 * items threads[,threads...]
 */
public final class BatchWriteCeiling {

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        String table = args[1];
        int items = Integer.parseInt(args[2]);
        int[] inFlight = java.util.Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
        DynamoDbClient client = DynamoDbClient.builder()
                .region(Region.US_EAST_1)
                .endpointOverride(URI.create(endpoint))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .build();
        write(client, table, batches(0, WARM_UP_ITEMS), inFlight[0]);
        for (int run = 0; run < inFlight.length; run++) {
            List<List<WriteRequest>> batches = batches(WARM_UP_ITEMS + run * items, items);
            long started = System.nanoTime();
            write(client, table, batches, inFlight[run]);
            System.out.println(inFlight[run] + " " + items + " " + (System.nanoTime() - started) / 1e9);
        }
        client.close();
    }

    private static final int WARM_UP_ITEMS = 25_000;

    private static List<List<WriteRequest>> batches(int first, int count) {
        List<List<WriteRequest>> batches = new ArrayList<>();
        for (int from = first; from < first + count; from += 25) {
            List<WriteRequest> batch = new ArrayList<>();
            for (int i = from; i < Math.min(from + 25, first + count); i++) {
                batch.add(WriteRequest.builder().putRequest(PutRequest.builder().item(item(i)).build()).build());
            }
            batches.add(batch);
        }
        return batches;
    }

    private static void write(DynamoDbClient client, String table, List<List<WriteRequest>> batches, int threads)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(pool.submit(() -> {
                for (int b; (b = next.getAndIncrement()) < batches.size(); ) {
                    List<WriteRequest> requests = batches.get(b);
                    while (!requests.isEmpty()) {
                        List<WriteRequest> batch = requests;
                        requests = client.batchWriteItem(r -> r.requestItems(Map.of(table, batch)))
                                .unprocessedItems().getOrDefault(table, List.of());
                    }
                }
                return null;
            }));
        }
        for (Future<?> worker : workers) {
            worker.get();
        }
        pool.shutdown();
    }

    private static Map<String, AttributeValue> item(int i) {
        Map<String, AttributeValue> reason = Map.of("sensor", AttributeValue.fromS("temperature_c"),
                "contribution", AttributeValue.fromN("0.4123"));
        return Map.of("device_id", AttributeValue.fromS("d" + (i % 500)),
                "ts", AttributeValue.fromN(Long.toString(1_795_000_000_000L + i)),
                "score", AttributeValue.fromN("0.123456"), "model", AttributeValue.fromS("model"),
                "seq", AttributeValue.fromN(Integer.toString(i)),
                "scored_at", AttributeValue.fromN(Long.toString(1_795_000_000_000L + i)),
                "reasons", AttributeValue.fromL(List.of(AttributeValue.fromM(reason))));
    }
}
