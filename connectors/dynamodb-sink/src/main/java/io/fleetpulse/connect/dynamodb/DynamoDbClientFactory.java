package io.fleetpulse.connect.dynamodb;

import java.time.Duration;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbClientBuilder;

/** Builds the DynamoDB client: JDK HTTP client, short timeouts, no SDK-level retries. */
final class DynamoDbClientFactory {

    /** One attempt per API call: the writer's own backoff with full jitter is the only retry policy. */
    static final int SDK_MAX_ATTEMPTS = 1;

    private DynamoDbClientFactory() {
    }

    static DynamoDbClient create(DynamoDbSinkConfig config) {
        Duration callTimeout = Duration.ofMillis(config.apiTimeoutMs());
        Duration attemptTimeout = callTimeout;
        DynamoDbClientBuilder builder = DynamoDbClient.builder()
                .region(Region.of(config.region()))
                .credentialsProvider(credentials(config))
                // Set explicitly: SPI discovery of HTTP clients is unreliable inside Connect's plugin class loader.
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofMillis(Math.min(2000, config.apiTimeoutMs())))
                        .socketTimeout(attemptTimeout))
                .overrideConfiguration(o -> o
                        .apiCallTimeout(callTimeout)
                        .apiCallAttemptTimeout(attemptTimeout)
                        .retryStrategy(b -> b.maxAttempts(SDK_MAX_ATTEMPTS)));
        if (config.endpoint() != null) {
            builder.endpointOverride(config.endpoint());
        }
        return builder.build();
    }

    private static AwsCredentialsProvider credentials(DynamoDbSinkConfig config) {
        if (!config.accessKeyId().isEmpty()) {
            return StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(config.accessKeyId(), config.secretAccessKey()));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
