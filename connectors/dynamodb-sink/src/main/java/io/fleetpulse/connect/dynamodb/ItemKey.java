package io.fleetpulse.connect.dynamodb;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** The primary key of an item: partition key value plus sort key value (null when the table has none). */
record ItemKey(AttributeValue partition, AttributeValue sort) {
}
