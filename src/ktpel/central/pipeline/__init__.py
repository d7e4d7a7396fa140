"""The central dedup pipeline: durable queue, stages, workers."""
