using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Statistics;

/// <summary>
/// Triton's statistics of one model version, counted since the version was loaded and dropped with it. Requests and
/// executions add to plain fields with <see cref="Interlocked"/>: no lock and no allocation on the request path; only
/// <see cref="Snapshot"/> builds objects.
/// </summary>
/// <remarks>
/// As in Triton, queue and the compute phases are counted for successful requests only, so their count is the success
/// count; a failed request adds only its whole duration. A snapshot read while requests finish may hold a count and a
/// total that are one request apart: each field is exact, the set is not taken at one instant.
/// </remarks>
internal sealed class ModelVersionStatistics
{
    private readonly BatchCounters[] _batches;

    private long _lastInferenceMs;
    private long _inferenceCount;
    private long _executionCount;
    private long _successCount;
    private long _successNs;
    private long _failCount;
    private long _failNs;
    private long _queueNs;
    private long _computeInputNs;
    private long _computeInferNs;
    private long _computeOutputNs;

    /// <param name="maxBatchSize">The config's <c>max_batch_size</c>: no execution is larger, and 0 runs every request as a batch of 1.</param>
    public ModelVersionStatistics(int maxBatchSize) =>
        _batches = new BatchCounters[Math.Max(1, maxBatchSize) + 1];

    /// <summary>One model execution that produced its outputs, of <paramref name="batchSize"/> items.</summary>
    /// <param name="unixTimeMs">When it ended, in milliseconds since the epoch: Triton's <c>last_inference</c>.</param>
    public void RecordExecution(int batchSize, long computeInputNs, long computeInferNs, long computeOutputNs, long unixTimeMs)
    {
        ref var batch = ref _batches[batchSize];
        Interlocked.Increment(ref batch.Count);
        Interlocked.Add(ref batch.ComputeInputNs, computeInputNs);
        Interlocked.Add(ref batch.ComputeInferNs, computeInferNs);
        Interlocked.Add(ref batch.ComputeOutputNs, computeOutputNs);
        Interlocked.Increment(ref _executionCount);

        // Two executions ending together may record out of order; keep the later time.
        var last = Volatile.Read(ref _lastInferenceMs);
        while (unixTimeMs > last)
        {
            var seen = Interlocked.CompareExchange(ref _lastInferenceMs, unixTimeMs, last);
            if (seen == last)
            {
                break;
            }

            last = seen;
        }
    }

    /// <summary>
    /// One request that got its outputs: <paramref name="batchSize"/> items, its whole time from submission to outputs,
    /// its wait in the queue and the compute phases of the execution it was part of.
    /// </summary>
    public void RecordSuccess(int batchSize, long requestNs, long queueNs, long computeInputNs, long computeInferNs, long computeOutputNs)
    {
        Interlocked.Add(ref _inferenceCount, batchSize);
        Interlocked.Increment(ref _successCount);
        Interlocked.Add(ref _successNs, requestNs);
        Interlocked.Add(ref _queueNs, queueNs);
        Interlocked.Add(ref _computeInputNs, computeInputNs);
        Interlocked.Add(ref _computeInferNs, computeInferNs);
        Interlocked.Add(ref _computeOutputNs, computeOutputNs);
    }

    /// <summary>One request that was accepted for execution and got no outputs: the model failed on it, or the server stopped.</summary>
    public void RecordFailure(long requestNs)
    {
        Interlocked.Increment(ref _failCount);
        Interlocked.Add(ref _failNs, requestNs);
    }

    /// <summary>The figures as the protocol reports them, batch sizes in ascending order, only those that ran.</summary>
    public ModelStatistics Snapshot(string name, string version)
    {
        var batches = new List<BatchStatistics>();
        for (var size = 0; size < _batches.Length; size++)
        {
            ref var batch = ref _batches[size];
            var count = Read(ref batch.Count);
            if (count > 0)
            {
                batches.Add(new BatchStatistics(
                    (ulong)size,
                    new DurationStatistic(count, Read(ref batch.ComputeInputNs)),
                    new DurationStatistic(count, Read(ref batch.ComputeInferNs)),
                    new DurationStatistic(count, Read(ref batch.ComputeOutputNs))));
            }
        }

        var successes = Read(ref _successCount);
        var inference = new InferenceStatistics(
            Success: new DurationStatistic(successes, Read(ref _successNs)),
            Fail: new DurationStatistic(Read(ref _failCount), Read(ref _failNs)),
            Queue: new DurationStatistic(successes, Read(ref _queueNs)),
            ComputeInput: new DurationStatistic(successes, Read(ref _computeInputNs)),
            ComputeInfer: new DurationStatistic(successes, Read(ref _computeInferNs)),
            ComputeOutput: new DurationStatistic(successes, Read(ref _computeOutputNs)),
            CacheHit: default,
            CacheMiss: default);

        return new ModelStatistics(
            name,
            version,
            Read(ref _lastInferenceMs),
            Read(ref _inferenceCount),
            Read(ref _executionCount),
            inference,
            batches);
    }

    private static ulong Read(ref long field) => (ulong)Volatile.Read(ref field);

    /// <summary>The executions of one batch size.</summary>
    private struct BatchCounters
    {
        public long Count;
        public long ComputeInputNs;
        public long ComputeInferNs;
        public long ComputeOutputNs;
    }
}
