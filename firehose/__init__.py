"""The Firehose delivery stream (Kinesis stream -> raw bucket), defined from the pipeline definition."""
