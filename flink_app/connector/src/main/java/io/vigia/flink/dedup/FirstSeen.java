package io.vigia.flink.dedup;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.utils.JoinedRowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The job's dedup by event_id, and so the route of every record and the counts per route.
 *
 * <p>Dedup: keyed state that forgets an id between {@code retentionMs} and twice that after it was
 * last seen (processing time, like Flink's state TTL), without the heap backend's TTL bookkeeping:
 * ids are kept in two generations of {@code retentionMs} each per bucket, and a generation is
 * dropped whole when it is two old. Measured: the SQL dedup's state TTL (an incremental cleanup
 * visit of 5 entries on every state access) cost a third of the job's SQL part.
 *
 * <p>{@link #apply} returns two tables. The first is the input's columns plus {@code route}, the
 * first that holds of: {@code invalid} (the input's {@code invalidColumn}; such a record keeps no
 * state), {@code duplicate} (a valid record whose event_id was seen before), {@code late} (the
 * input's {@code lateColumn}), {@code on_time}; {@code rowtime} stays the event-time attribute,
 * with the upstream watermarks. The second is {@code (route, records)}: each subtask's count of
 * the records it routed, per route, once a second of processing time (a row per route that had
 * records): every record read is counted once, by the same decision that routes it, and no record
 * crosses a second exchange to be counted.
 *
 * <p>The key is a bucket of the event_id's hash ({@link #BUCKETS} of them: more than any max
 * parallelism in use), so the state moves with its key groups on rescale and is checkpointed with
 * the job. The counts since the last emission are not state: after a restore the records re-read
 * are counted again, as they are routed again.
 */
public final class FirstSeen extends KeyedProcessFunction<Integer, RowData, RowData> {
    static final int BUCKETS = 4096;
    static final String[] ROUTES = {"invalid", "duplicate", "late", "on_time"};
    private static final int INVALID = 0, DUPLICATE = 1, LATE = 2, ON_TIME = 3;  // indexes of ROUTES
    private static final StringData[] ROUTE_DATA =
            Arrays.stream(ROUTES).map(StringData::fromString).toArray(StringData[]::new);
    private static final RowType COUNT_TYPE = RowType.of(false,
            new LogicalType[] {new VarCharType(false, VarCharType.MAX_LENGTH), new BigIntType(false)},
            new String[] {"route", "records"});
    static final OutputTag<RowData> COUNTS = new OutputTag<>("route-counts", InternalTypeInfo.of(COUNT_TYPE));

    private final int idField;
    private final int invalidField;
    private final int lateField;
    private final long retentionMs;
    private transient ValueState<Long> generation;
    private transient MapState<String, Boolean> even;
    private transient MapState<String, Boolean> odd;
    private transient GenericRowData route;
    private transient long[] counts;
    private transient long[] flushAt;  // per bucket: the processing-time timer already registered

    FirstSeen(int idField, int invalidField, int lateField, long retentionMs) {
        this.idField = idField;
        this.invalidField = invalidField;
        this.lateField = lateField;
        this.retentionMs = retentionMs;
    }

    /** The routed table and the counts table; see the class comment. */
    public static Table[] apply(StreamTableEnvironment tEnv, Table input, String idColumn, String invalidColumn,
                                String lateColumn, String rowtimeColumn, long retentionMs) {
        ResolvedSchema schema = input.getResolvedSchema();
        List<String> names = schema.getColumnNames();
        int id = names.indexOf(idColumn);
        int invalid = names.indexOf(invalidColumn);
        int late = names.indexOf(lateColumn);
        if (retentionMs <= 0) {
            throw new IllegalArgumentException("FirstSeen needs a positive retention, got " + retentionMs + " ms");
        }
        if (id < 0 || invalid < 0 || late < 0 || !names.contains(rowtimeColumn)) {
            throw new IllegalArgumentException("FirstSeen needs columns " + idColumn + ", " + invalidColumn + ", "
                    + lateColumn + " and " + rowtimeColumn + "; the table has " + names);
        }
        DataType rowType = schema.toPhysicalRowDataType().bridgedTo(RowData.class);
        DataStream<RowData> rows = tEnv.toDataStream(input, rowType);
        List<RowType.RowField> fields = new ArrayList<>(((RowType) rowType.getLogicalType()).getFields());
        fields.add(new RowType.RowField("route", new VarCharType(false, VarCharType.MAX_LENGTH)));
        RowType out = new RowType(false, fields);
        SingleOutputStreamOperator<RowData> routed = rows
                .keyBy(new Bucket(id, invalid), Types.INT)
                .process(new FirstSeen(id, invalid, late, retentionMs), InternalTypeInfo.of(out))
                .name("FirstSeen(" + idColumn + ")");
        Schema withWatermarks = columns(out).watermark(rowtimeColumn, "SOURCE_WATERMARK()").build();
        return new Table[] {tEnv.fromDataStream(routed, withWatermarks),
                            tEnv.fromDataStream(routed.getSideOutput(COUNTS), columns(COUNT_TYPE).build())};
    }

    private static Schema.Builder columns(RowType type) {
        Schema.Builder s = Schema.newBuilder();
        for (RowType.RowField f : type.getFields()) {
            s.column(f.getName(), DataTypes.of(f.getType()));
        }
        return s;
    }

    /** The bucket of a valid record's event_id; every invalid record goes to bucket 0 (no state). */
    static final class Bucket implements KeySelector<RowData, Integer> {
        private final int idField;
        private final int invalidField;

        Bucket(int idField, int invalidField) {
            this.idField = idField;
            this.invalidField = invalidField;
        }

        @Override
        public Integer getKey(RowData row) {
            return tracked(row, idField, invalidField) ? Math.floorMod(row.getString(idField).hashCode(), BUCKETS) : 0;
        }
    }

    /** Only a valid record with an event_id is deduplicated. */
    static boolean tracked(RowData row, int idField, int invalidField) {
        return !row.getBoolean(invalidField) && !row.isNullAt(idField);
    }

    @Override
    public void open(OpenContext context) {
        generation = getRuntimeContext().getState(new ValueStateDescriptor<>("generation", Types.LONG));
        even = getRuntimeContext().getMapState(new MapStateDescriptor<>("ids-even", Types.STRING, Types.BOOLEAN));
        odd = getRuntimeContext().getMapState(new MapStateDescriptor<>("ids-odd", Types.STRING, Types.BOOLEAN));
        route = new GenericRowData(1);
        counts = new long[ROUTES.length];
        flushAt = new long[BUCKETS];
    }

    @Override
    public void processElement(RowData row, Context ctx, Collector<RowData> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        int r;
        if (row.getBoolean(invalidField)) {
            r = INVALID;
        } else if (tracked(row, idField, invalidField) && seenBefore(row, now)) {
            r = DUPLICATE;
        } else {
            r = row.getBoolean(lateField) ? LATE : ON_TIME;
        }
        counts[r]++;
        route.setField(0, ROUTE_DATA[r]);
        out.collect(new JoinedRowData(row.getRowKind(), row, route));
        long next = (now / 1000 + 1) * 1000;
        int bucket = ctx.getCurrentKey();
        if (flushAt[bucket] != next) {  // one timer a second per bucket with records
            ctx.timerService().registerProcessingTimeTimer(next);
            flushAt[bucket] = next;
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RowData> out) {
        for (int r = 0; r < counts.length; r++) {
            if (counts[r] > 0) {
                ctx.output(COUNTS, GenericRowData.of(ROUTE_DATA[r], counts[r]));
                counts[r] = 0;
            }
        }
    }

    private boolean seenBefore(RowData row, long processingTime) throws Exception {
        long now = processingTime / retentionMs;
        Long stored = generation.value();
        switch (step(stored, now)) {
            case FRESH:  // new bucket, or both generations are too old
                even.clear();
                odd.clear();
                generation.update(now);
                break;
            case NEXT:  // the older generation goes (it has now's parity), the newer becomes the older
                (now % 2 == 0 ? even : odd).clear();
                generation.update(now);
                break;
            default:  // SAME, or the clock went back: stay in the stored generation
                now = stored;
        }
        MapState<String, Boolean> current = now % 2 == 0 ? even : odd;
        MapState<String, Boolean> older = now % 2 == 0 ? odd : even;
        String id = row.getString(idField).toString();
        if (current.contains(id)) {
            return true;
        }
        boolean seen = older.contains(id);
        current.put(id, Boolean.TRUE);  // kept at least retentionMs after it was last seen
        return seen;
    }

    enum Step { SAME, NEXT, FRESH }

    /** What a record at generation {@code now} does to a bucket last used in {@code stored}. */
    static Step step(Long stored, long now) {
        if (stored == null || now - stored > 1) {
            return Step.FRESH;
        }
        return now == stored + 1 ? Step.NEXT : Step.SAME;
    }
}
