package io.fleetpulse.connect.dynamodb;

/** A record that can never be written as-is (bad JSON, missing key, too large, rejected by DynamoDB validation). */
final class BadRecordException extends Exception {
    private static final long serialVersionUID = 1L;

    BadRecordException(String reason) {
        super(reason);
    }

    BadRecordException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
