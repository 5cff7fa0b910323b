"""The producer: polls external HTTP APIs and writes contract-valid events to Kinesis."""
