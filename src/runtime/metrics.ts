/**
 * The metrics catalogue: every metric pkgstream exports, created once on the project's own
 * Registry. Labels come only from bounded sets (pipeline, stage, index host, kind, outcome,
 * error code), never a project name or version. Base units: seconds, bytes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(registry: Registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'pkgstream_' });
    // prom-client's sums of the per-type gauges are gauges named like counters, which
    // `promtool check metrics` rejects; the per-type gauges (sum them in PromQL) stay.
    for (const name of ['active_handles', 'active_requests', 'active_resources']) registry.removeSingleMetric(`pkgstream_nodejs_${name}_total`);
  }
  const on = [registry];
  return {
    registry,
    feedPolls: new Counter({ name: 'pkgstream_feed_polls_total', help: 'RSS feed polls by outcome (new, not_modified, error).', labelNames: ['index', 'feed', 'outcome'], registers: on }),
    feedItems: new Counter({ name: 'pkgstream_feed_items_total', help: 'Feed items read, by outcome (new, old, bad).', labelNames: ['index', 'feed', 'outcome'], registers: on }),
    feedGaps: new Counter({ name: 'pkgstream_feed_gaps_total', help: 'Polls whose items did not overlap the previous poll: releases may have been missed.', labelNames: ['index', 'feed'], registers: on }),
    backfilledReleases: new Counter({ name: 'pkgstream_backfilled_releases_total', help: 'Releases found by a backfill after a feed gap.', labelNames: ['index'], registers: on }),
    indexRequests: new Counter({ name: 'pkgstream_index_requests_total', help: 'HTTP requests to package indexes by route and status class (304 on its own).', labelNames: ['index', 'route', 'status'], registers: on }),
    indexRequestDuration: new Histogram({ name: 'pkgstream_index_request_duration_seconds', help: 'Latency of index requests.', labelNames: ['index', 'route'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: on }),
    indexRateLimited: new Counter({ name: 'pkgstream_index_rate_limited_total', help: '429 answers from an index.', labelNames: ['index'], registers: on }),
    rateLimiterWait: new Histogram({ name: 'pkgstream_rate_limiter_wait_seconds', help: 'Time an item waited for a rate-limit token.', labelNames: ['pipeline', 'index'], buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers: on }),
    badInput: new Counter({ name: 'pkgstream_bad_input_total', help: 'Inputs from outside that could not be read, by source and error code.', labelNames: ['source', 'code'], registers: on }),
    stageInflight: new Gauge({ name: 'pkgstream_stage_inflight', help: 'Items in flight in a pipeline stage.', labelNames: ['pipeline', 'stage'], registers: on }),
    stageItems: new Counter({ name: 'pkgstream_stage_items_total', help: 'Items through a pipeline stage by outcome (in, ok, failed).', labelNames: ['pipeline', 'stage', 'outcome'], registers: on }),
    stageDuration: new Histogram({ name: 'pkgstream_stage_duration_seconds', help: 'Time an item spent in a pipeline stage.', labelNames: ['pipeline', 'stage', 'outcome'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: on }),
    dedupeDropped: new Counter({ name: 'pkgstream_dedupe_dropped_total', help: 'Items dropped as repeats.', labelNames: ['pipeline', 'stage'], registers: on }),
    scanRowsDone: new Gauge({ name: 'pkgstream_scan_rows_done', help: 'Rows checked in the current update pass.', labelNames: ['pipeline'], registers: on }),
    scanRowsDue: new Gauge({ name: 'pkgstream_scan_rows_due', help: 'Rows due at the start of the current pass.', labelNames: ['pipeline'], registers: on }),
    scanRate: new Gauge({ name: 'pkgstream_scan_rate_rows_per_second', help: 'Rows checked per second since the start of the current pass.', labelNames: ['pipeline'], registers: on }),
    scanEta: new Gauge({ name: 'pkgstream_scan_eta_seconds', help: 'Seconds left in the current pass at its rate so far.', labelNames: ['pipeline'], registers: on }),
    events: new Counter({ name: 'pkgstream_events_total', help: 'Events produced, by kind.', labelNames: ['kind'], registers: on }),
    kafkaProduceErrors: new Counter({ name: 'pkgstream_kafka_produce_errors_total', help: 'Kafka produce calls that failed.', labelNames: ['code'], registers: on }),
    kafkaConsumerLag: new Gauge({ name: 'pkgstream_kafka_consumer_lag', help: 'Messages between the committed offset and the high watermark.', labelNames: ['topic', 'partition'], registers: on }),
    kafkaDeadLetters: new Counter({ name: 'pkgstream_kafka_dead_letters_total', help: 'Consumed messages sent to the dead-letter topic.', labelNames: ['topic', 'code'], registers: on }),
    kafkaPaused: new Gauge({ name: 'pkgstream_kafka_consumer_paused', help: '1 while the consumer is paused for backpressure.', labelNames: ['pipeline'], registers: on }),
    jobs: new Counter({ name: 'pkgstream_jobs_total', help: 'Solver Job creations by outcome (created, exists, refused, error, dry_run).', labelNames: ['solver', 'outcome'], registers: on }),
    jobsActive: new Gauge({ name: 'pkgstream_jobs_active', help: 'Active solver Jobs seen by the watch.', registers: on }),
    jobsCapacity: new Gauge({ name: 'pkgstream_jobs_capacity', help: 'Configured solver capacity.', registers: on }),
    jobOutcomes: new Counter({ name: 'pkgstream_job_outcomes_total', help: 'Finished solver Jobs by outcome.', labelNames: ['solver', 'outcome'], registers: on }),
    jobDuration: new Histogram({ name: 'pkgstream_job_duration_seconds', help: 'Run time of finished solver Jobs.', labelNames: ['solver', 'outcome'], buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200], registers: on }),
    attentionOpen: new Gauge({ name: 'pkgstream_attention_open', help: 'Items in the attention table not yet resolved.', labelNames: ['pipeline'], registers: on }),
    attentionRecorded: new Counter({ name: 'pkgstream_attention_recorded_total', help: 'Items that failed after their retries and went to attention.', labelNames: ['pipeline', 'code'], registers: on }),
    pipelineRestarts: new Counter({ name: 'pkgstream_pipeline_restarts_total', help: 'Pipelines restarted after a failure.', labelNames: ['pipeline'], registers: on }),
    pipelineUp: new Gauge({ name: 'pkgstream_pipeline_up', help: '1 while a pipeline is running.', labelNames: ['pipeline'], registers: on }),
    lastSuccessfulPass: new Gauge({ name: 'pkgstream_last_successful_pass_timestamp_seconds', help: 'Unix time of the last completed pass per pipeline.', labelNames: ['pipeline'], registers: on }),
    feedLeaseHeld: new Gauge({ name: 'pkgstream_feed_lease_held', help: 'Per index: 1 while this replica polls its feeds (holds its lease), 0 while it stands by.', labelNames: ['index'], registers: on }),
    dispatchLeaseHeld: new Gauge({ name: 'pkgstream_dispatch_lease_held', help: '1 while this replica dispatches solver Jobs (holds the dispatch lease), 0 while it stands by.', registers: on }),
    verificationCycle: new Gauge({ name: 'pkgstream_verification_cycle_seconds', help: 'Per index host: seconds one update pass over all its projects takes at PKGSTREAM_VERIFY_SHARE of the rate limit (warned when over PKGSTREAM_RECHECK_INTERVAL).', labelNames: ['index'], registers: on }),
    replicasLive: new Gauge({ name: 'pkgstream_replicas_live', help: 'Replicas heartbeating into this database within the lease TTL, this one included.', registers: on }),
    pipelineStarted: new Gauge({ name: 'pkgstream_pipeline_started_timestamp_seconds', help: 'Unix time this process started the pipeline (a stall is measured from it until a first pass).', labelNames: ['pipeline'], registers: on }),
    dependencyUp: new Gauge({ name: 'pkgstream_dependency_up', help: '1 while a dependency (database, kafka, kubernetes, index:<host>) answers, 0 while it does not or is not checked yet.', labelNames: ['dependency'], registers: on }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
