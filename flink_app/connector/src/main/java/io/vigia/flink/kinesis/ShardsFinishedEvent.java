package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.SourceEvent;

import java.util.Set;

/** Reader -> enumerator: these shards were read to their end (closed after resharding). */
final class ShardsFinishedEvent implements SourceEvent {
    private static final long serialVersionUID = 1L;
    final Set<String> shardIds;

    ShardsFinishedEvent(Set<String> shardIds) {
        this.shardIds = Set.copyOf(shardIds);
    }
}
